import t, { type Test } from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, stream, chunk, chatCompletion, type Behaviour } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, sse } from '../helpers/fake-anthropic.js';
import { startGateway, routeOver, collectChatStream, type TestGateway } from '../helpers/gateway.js';
import { routeOverKinds, parseSse } from '../helpers/mixed-route.js';

/**
 * on_content_filter applied to streams (core/attempts/send.ts, loop.ts): an upstream stream that
 * ends on its content filter (finish_reason content_filter / stop_reason refusal) before any
 * content went to the client fails over invisibly under `fallback`; `return` relays it as before;
 * after content the stream ends as it came, and the request log says so.
 */

const ADMIN = 'admin-token-0123456789abcdef';

/** OpenAI-compatible refusal: role chunk, `content` pieces (none: a refusal before content), content_filter finish, [DONE]. */
const openaiFiltered = (pieces: string[] = []): Behaviour => (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  for (const p of pieces) res.write(chunk(model, { content: p }));
  res.write(chunk(model, {}, 'content_filter'));
  res.end('data: [DONE]\n\n');
};

/** Anthropic refusal: message_start, ping, `pieces` as a text block, message_delta stop_reason refusal, message_stop. */
const anthropicRefusal = (pieces: string[] = []): Behaviour => (seen, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(sse('message_start', { message: { id: 'msg_r', type: 'message', role: 'assistant', model: String(seen.body?.model), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } } }));
  res.write(sse('ping', {}));
  if (pieces.length) {
    res.write(sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    for (const p of pieces) res.write(sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
    res.write(sse('content_block_stop', { index: 0 }));
  }
  res.write(sse('message_delta', { delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 2 } }));
  res.end(sse('message_stop', {}));
};

const ask = { model: 'm', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

async function gateway(t: Test, config: Record<string, unknown>): Promise<TestGateway> {
  const gw = await startGateway({ ...config, admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(() => gw.close());
  return gw;
}

async function logOf(gw: TestGateway, id: string | null) {
  const r = await fetch(`${gw.url}/admin/api/requests?id=${id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return ((await r.json()) as { data: { error_class: string | null; attempts: { target: string; errorClass: string | null; message?: string }[] }[] }).data[0];
}

async function anthropicText(gw: TestGateway) {
  const client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const { data: s, response } = await client.messages.create({ ...ask, stream: true }).withResponse();
  let text = '';
  let stop: string | null = null;
  for await (const ev of s) {
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    if (ev.type === 'message_delta') stop = ev.delta.stop_reason;
  }
  return { text, stop, response };
}

t.test('OpenAI upstream, chat client: a content_filter finish before content falls back invisibly; return keeps it', async (t) => {
  const a = await startFakeUpstream(openaiFiltered());
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { on_content_filter: 'fallback' }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(r.finish, 'stop', 'the client sees only the fallback answer');
  t.equal(r.response.headers.get('x-switchyard-attempts'), '2');
  t.equal(r.response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(a.seen.length, 1, 'a refusal is not retried on the same target');
  const log = await logOf(gw, r.response.headers.get('x-request-id'));
  t.equal(log.attempts[0].errorClass, 'content_filter');

  const gw2 = await gateway(t, routeOver([a.url, b.url]));
  const r2 = await collectChatStream(gw2.baseURL);
  t.equal(r2.finish, 'content_filter', 'the default (return) relays the refusal');
  t.equal(r2.text, '');
  t.equal(b.seen.length, 1, 'and tries nothing else');
});

t.test('Anthropic upstream, Messages client: a refusal before content falls back invisibly', async (t) => {
  const a = await startFakeAnthropic(anthropicRefusal());
  const b = await startFakeAnthropic(anthropicOk('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'anthropic', url: b.url }], { on_content_filter: 'fallback' }));
  const r = await anthropicText(gw);
  t.equal(r.text, 'from b');
  t.equal(r.stop, 'end_turn');
  t.equal(r.response.headers.get('x-switchyard-attempts'), '2');

  const gw2 = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'anthropic', url: b.url }]));
  const r2 = await anthropicText(gw2);
  t.equal(r2.stop, 'refusal', 'return relays the refusal');
});

t.test('Anthropic upstream, chat client: a refusal before content falls back invisibly', async (t) => {
  const a = await startFakeAnthropic(anthropicRefusal());
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: b.url }], { on_content_filter: 'fallback' }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(r.finish, 'stop');
  t.equal(a.seen.length, 1);
});

t.test('OpenAI upstream, Messages client: a content_filter finish before content falls back invisibly', async (t) => {
  const a = await startFakeUpstream(openaiFiltered());
  const b = await startFakeAnthropic(anthropicOk('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOverKinds([{ kind: 'openai', url: a.url }, { kind: 'anthropic', url: b.url }], { on_content_filter: 'fallback' }));
  const r = await anthropicText(gw);
  t.equal(r.text, 'from b');
  t.equal(r.stop, 'end_turn');
  t.equal(a.seen.length, 1);
});

t.test('every target refuses: the last refusal is served as a whole, protocol-correct stream', async (t) => {
  const a = await startFakeUpstream(openaiFiltered());
  const b = await startFakeUpstream(openaiFiltered());
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { on_content_filter: 'fallback' }));
  const r = await collectChatStream(gw.baseURL, { stream_options: { include_usage: true } });
  t.equal(r.finish, 'content_filter');
  t.equal(r.response.headers.get('x-switchyard-attempts'), '2');
  t.equal(r.response.headers.get('x-switchyard-provider'), 'p2', 'the refusal served is the last one');
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  t.equal(res.status, 200);
  const body = await res.text();
  t.ok(body.endsWith('data: [DONE]\n\n'), 'ends with [DONE]');
  t.equal((body.match(/"role":"assistant"/g) ?? []).length, 1, 'one refusal, not two');
  const log = await logOf(gw, r.response.headers.get('x-request-id'));
  t.equal(log.error_class, 'content_filter', 'recorded as a content_filter outcome');

  // Same on the Anthropic side: the client gets the refusal with message_stop.
  const c = await startFakeAnthropic(anthropicRefusal());
  t.teardown(() => c.close());
  const gw2 = await gateway(t, routeOverKinds([{ kind: 'openai', url: a.url }, { kind: 'anthropic', url: c.url }], { on_content_filter: 'fallback' }));
  const raw = await fetch(`${gw2.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ ...ask, stream: true }) });
  const events = parseSse(await raw.text());
  t.same(events.map((e) => e.event), ['message_start', 'ping', 'message_delta', 'message_stop']);
  t.match(events[2].data, { delta: { stop_reason: 'refusal' } });
});

t.test('a content_filter finish after content was sent is not failed over: the stream ends as it came, and is recorded', async (t) => {
  const a = await startFakeUpstream(openaiFiltered(['partial ', 'answer']));
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { on_content_filter: 'fallback' }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'partial answer');
  t.equal(r.finish, 'content_filter');
  t.equal(b.seen.length, 0);
  const log = await logOf(gw, r.response.headers.get('x-request-id'));
  t.match(log.attempts[0].message, /content filter after content was sent/);

  // Anthropic upstream, refusal after text, to an Anthropic client.
  const c = await startFakeAnthropic(anthropicRefusal(['some ', 'text']));
  t.teardown(() => c.close());
  const gw2 = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: c.url }, { kind: 'openai', url: b.url }], { on_content_filter: 'fallback' }));
  const r2 = await anthropicText(gw2);
  t.equal(r2.text, 'some text');
  t.equal(r2.stop, 'refusal');
  t.equal(b.seen.length, 0);
  t.match((await logOf(gw2, r2.response.headers.get('x-request-id'))).attempts[0].message, /content filter after content was sent/);
});

t.test('a whole 200 JSON completion cut by the content filter, answering a stream request, falls back too', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    const c = chatCompletion(String(seen.body?.model), 'half an ans');
    c.choices[0].finish_reason = 'content_filter';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(c));
  });
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { on_content_filter: 'fallback' }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b', 'nothing had been sent: the whole answer was in hand');
  t.equal(a.seen.length, 1);
});

t.test('a refusal whose upstream keeps its response open after [DONE] does not hold the connection', { timeout: 15000 }, async (t) => {
  const a = await startFakeUpstream(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: '' }) + chunk(model, {}, 'content_filter') + 'data: [DONE]\n\n');
    await seen.closed; // never ends the response
  });
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { on_content_filter: 'fallback', idle_timeout_ms: 300 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  await a.seen[0].closed;
  t.pass('the refused call was cut after idle_timeout_ms');
});
