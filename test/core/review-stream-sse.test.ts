import t from 'tap';
import { startFakeUpstream, chunk, stream, type Behaviour } from '../helpers/fake-upstream.js';
import { collectChatStream as collect, routeOver, startGateway } from '../helpers/gateway.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CRLF framing with a TCP write ending between the CR and the LF of a line inside an event:
 * that CRLF is one line end, not two (a blank line that would end the event early).
 */
const crSplit: Behaviour = async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const crlf = (s: string) => s.replace(/\n/g, '\r\n');
  res.write(crlf(chunk(model, { role: 'assistant', content: '' })));
  for (const piece of ['Hel', 'lo']) {
    const json = JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
    const at = json.indexOf(',"choices"') + 1; // JSON split over two data: lines
    res.write(`data: ${json.slice(0, at)}\r`);
    await sleep(20);
    res.write(`\ndata: ${json.slice(at)}\r\n\r\n`);
    await sleep(5);
  }
  res.write(crlf(chunk(model, {}, 'stop')));
  res.end('data: [DONE]\r\n\r\n');
};

t.test('a CRLF split between two reads inside an event does not end the event', async (t) => {
  const a = await startFakeUpstream(crSplit);
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'Hello');
  t.equal(r.finish, 'stop');
  t.equal(r.response.headers.get('x-switchyard-attempts'), '1');
});

/** A frame that is JSON but not a chunk (`data: null`) before content: a malformed frame, so the next target serves. */
const nullFrame: Behaviour = async (seen, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(String(seen.body?.model), { role: 'assistant', content: '' }));
  res.end('data: null\n\n');
};

t.test('data: null before content fails over as a malformed frame (not a crash classed as a connect error)', async (t) => {
  const a = await startFakeUpstream(nullFrame);
  const b = await startFakeUpstream(stream(['Hel', 'lo']));
  const gw = await startGateway({ ...routeOver([a.url, b.url]), plugins: ['telemetry'] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'Hello', 'the second target served the stream');
  t.equal(r.response.headers.get('x-switchyard-provider'), 'p2');
  // The request line is written after the response (postResponse).
  for (let i = 0; i < 50 && !gw.logs.some((l) => l.msg === 'request'); i++) await sleep(10);
  const line = gw.logs.find((l) => l.msg === 'request') as { attempts: { class: string | null }[] } | undefined;
  t.same(line?.attempts.map((x) => x.class), ['server_error', 'server_error', null], 'a malformed frame: server_error, retried once, then the next target');
});
