import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, chunk, type Behaviour } from '../helpers/fake-upstream.js';
import { routeOver, startGateway } from '../helpers/gateway.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An upstream stream in awkward framing: a byte-order mark first, CRLF line ends, a comment,
 * an `event:` line, a frame whose JSON is split over two `data:` lines, a frame without the
 * space after `data:`, and a multi-byte character cut between two TCP writes.
 */
const awkward: Behaviour = async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const crlf = (s: string) => s.replace(/\n/g, '\r\n');
  res.write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf(chunk(model, { role: 'assistant', content: 'H' }) + ': keep-alive\n\n'))]));
  await sleep(5);
  res.write(crlf(chunk(model, { content: 'é' })));
  const json = JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: 'l' }, finish_reason: null }] });
  const at = json.indexOf(',"choices"') + 1; // between two members: JSON allows the newline there
  res.write(`event: message\ndata: ${json.slice(0, at)}\ndata: ${json.slice(at)}\n\n`);
  const euro = Buffer.from(chunk(model, { content: 'lo €' }));
  const cut = euro.indexOf(0xe2) + 1; // inside the three bytes of '€'
  res.write(euro.subarray(0, cut));
  await sleep(5);
  res.write(euro.subarray(cut));
  res.write(`data:${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  res.end('data: [DONE]\n\n');
};

t.test('SSE framing: BOM, CRLF, comments, multi-line data, no space, a character split across reads', async (t) => {
  const a = await startFakeUpstream(awkward);
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] });
  t.teardown(async () => {
    await gw.close();
    await a.close();
  });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const s = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  let finish: string | null | undefined;
  for await (const c of s) {
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  t.equal(text, 'Héllo €');
  t.equal(finish, 'stop');
});
