import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { routeOverKinds, parseSse } from '../helpers/mixed-route.js';

// An OpenAI-compatible upstream that answers a stream request with a whole JSON completion is
// replayed as a chat stream (core/providers/openai/completion-stream.ts). A real OpenAI stream
// carries a usage chunk only for `stream_options: { include_usage: true }`; the replay must not
// add one unasked, while the gateway still counts the upstream's reported usage.

const ADMIN = 'admin-token-0123456789abcdef';

async function logged(gw: TestGateway, id: string | null): Promise<{ input_tokens: number | null; output_tokens: number | null; usage_estimated: boolean }> {
  // postResponse runs just after the response ends: look until the row is written.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${gw.url}/admin/api/requests?id=${id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const rows = ((await r.json()) as { data: { input_tokens: number | null; output_tokens: number | null; usage_estimated: boolean }[] }).data;
    if (rows.length) return rows[0];
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`request ${id} was never logged`);
}

t.test('a replayed JSON completion sends usage only when the client asked for include_usage', async (t) => {
  const up = await startFakeUpstream(ok('whole answer')); // usage: 10 prompt, 5 completion
  const gw = await startGateway({ ...routeOverKinds([{ kind: 'openai', url: up.url }]), admin: { token: ADMIN }, plugins: ['telemetry'] }, { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });

  // Not asked: no chunk carries usage, as from OpenAI.
  const { data: s, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
  for await (const c of s) chunks.push(c);
  t.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'whole answer');
  t.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
  t.same(chunks.filter((c) => c.usage != null || c.choices.length === 0), [], 'no usage chunk');
  // The gateway still counts what the upstream reported (cost, budgets, telemetry).
  t.match(await logged(gw, response.headers.get('x-request-id')), { input_tokens: 10, output_tokens: 5, usage_estimated: false });

  // The raw bytes: data lines only (no gateway event names), ending with [DONE].
  const raw = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
  const text = await raw.text();
  t.notMatch(text, /usage/);
  t.notMatch(text, /^event:/m);
  t.ok(text.endsWith('data: [DONE]\n\n'));

  // Asked: the last chunk before [DONE] has no choices and the usage, as OpenAI sends it.
  const asked = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }) });
  const frames = parseSse(await asked.text());
  t.equal(frames.at(-1)?.data, '[DONE]');
  t.match(frames.at(-2), { event: undefined, data: { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } } });
  t.same((frames.at(-2)?.data as { choices: unknown[] }).choices, [], 'usage in a chunk of its own');
  t.equal(frames.filter((f) => typeof f.data === 'object' && f.data !== null && 'usage' in f.data).length, 1, 'one usage chunk');
  const sdk = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let usage: OpenAI.CompletionUsage | null | undefined = null;
  for await (const c of sdk) usage = c.usage ?? usage;
  t.match(usage, { prompt_tokens: 10, completion_tokens: 5 });
});

t.test('the translated replays keep their protocols\' usage (Anthropic message_delta, Responses response.completed)', async (t) => {
  const up = await startFakeUpstream(ok('whole answer'));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: up.url }], {}, { plugins: [] }));
  t.teardown(async () => { await gw.close(); await up.close(); });

  const msg = await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.stream({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  t.match(msg.content, [{ type: 'text', text: 'whole answer' }]);
  t.match(msg.usage, { input_tokens: 10, output_tokens: 5 });

  const s = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).responses.create({ model: 'm', input: 'hi', stream: true });
  let final: OpenAI.Responses.Response | null = null;
  for await (const ev of s) if (ev.type === 'response.completed') final = ev.response;
  t.match(final?.output, [{ type: 'message', content: [{ type: 'output_text', text: 'whole answer' }] }]);
  t.match(final?.usage, { input_tokens: 10, output_tokens: 5, total_tokens: 15 });
});
