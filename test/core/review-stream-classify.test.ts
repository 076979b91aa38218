import t, { type Test } from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, stream, raw, ok, chunk, chatCompletion, type Behaviour } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, anthropicMessage } from '../helpers/fake-anthropic.js';
import { startGateway, routeOver, collectChatStream, type TestGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

/**
 * Failures that reach a stream request without an error status, classified with the same
 * taxonomy as error statuses (core/attempts/send.ts, core/providers/{openai,anthropic}/classify.ts):
 * - a 200 `application/json` answer to a stream request: an error body (quota, rate limit,
 *   context length, request-level...) or a whole completion (replayed as a stream);
 * - an `{"error":...}` frame inside an OpenAI-compatible stream before content;
 * - a 200 JSON error body answering a non-stream request.
 */

const ADMIN = 'admin-token-0123456789abcdef';

const json200 = (body: unknown, headers: Record<string, string> = {}): Behaviour => (_s, res) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const openaiError = (type: string, code: string | null, message: string) => ({ error: { message, type, param: null, code } });

async function attemptsOf(gw: TestGateway, id: string | null): Promise<{ target: string; errorClass: string | null; message?: string }[]> {
  const r = await fetch(`${gw.url}/admin/api/requests?id=${id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const body = (await r.json()) as { data: { attempts: { target: string; errorClass: string | null; message?: string }[] }[] };
  return body.data[0]?.attempts ?? [];
}

async function gateway(t: Test, config: Record<string, unknown>): Promise<TestGateway> {
  const gw = await startGateway({ ...config, admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(() => gw.close());
  return gw;
}

t.test('200 JSON to a stream request: insufficient_quota is quota (no retry, the target cools down), not server_error', async (t) => {
  const a = await startFakeUpstream(json200(openaiError('insufficient_quota', 'insufficient_quota', 'You exceeded your current quota')));
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(a.seen.length, 1, 'a quota failure is not retried on the same target');
  const attempts = await attemptsOf(gw, r.response.headers.get('x-request-id'));
  t.equal(attempts[0]?.errorClass, 'quota');
  const r2 = await collectChatStream(gw.baseURL);
  t.equal(r2.text, 'from b');
  t.equal(a.seen.length, 1, 'the quota cooldown keeps the next request off the target');
});

t.test('200 JSON to a stream request: a rate-limit body is rate_limited and falls back without a retry', async (t) => {
  const a = await startFakeUpstream(json200(openaiError('requests', 'rate_limit_exceeded', 'Rate limit reached for requests'), { 'retry-after': '20' }));
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(a.seen.length, 1);
  t.equal((await attemptsOf(gw, r.response.headers.get('x-request-id')))[0]?.errorClass, 'rate_limited');
});

t.test('200 JSON to a stream request: context_length_exceeded falls back only to a larger window', async (t) => {
  const a = await startFakeUpstream(json200(openaiError('invalid_request_error', 'context_length_exceeded', "This model's maximum context length is 8192 tokens")));
  const small = await startFakeUpstream(stream(['from small']));
  const big = await startFakeUpstream(stream(['from big']));
  t.teardown(async () => { await a.close(); await small.close(); await big.close(); });
  const cfg = routeOver([a.url, small.url, big.url], { retries: 1 });
  const targets = (cfg.routes as { targets: Record<string, unknown>[] }[])[0].targets;
  [8000, 4000, 32000].forEach((w, i) => (targets[i].context_window = w));
  const gw = await gateway(t, cfg);
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from big');
  t.equal(a.seen.length, 1);
  t.equal(small.seen.length, 0, 'the smaller window is skipped');
});

t.test('200 JSON to a stream request: a request-level error is returned as a 400, with no fallback', async (t) => {
  const a = await startFakeUpstream(json200(openaiError('invalid_request_error', 'unsupported_parameter', "Unsupported parameter: 'foo'")));
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url]));
  const err = await collectChatStream(gw.baseURL).then(() => null, (e: unknown) => e);
  t.ok(err instanceof OpenAI.APIError, 'the client gets an API error');
  t.equal((err as InstanceType<typeof OpenAI.APIError>).status, 400);
  t.match((err as InstanceType<typeof OpenAI.APIError>).message, /Unsupported parameter/);
  t.equal(b.seen.length, 0, 'a request-level error burns no fallback');
});

t.test('200 JSON to a stream request that says nothing is still a server_error (retried, then fallback)', async (t) => {
  const a = await startFakeUpstream(json200({ status: 'weird' }));
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(a.seen.length, 2);
  t.equal((await attemptsOf(gw, r.response.headers.get('x-request-id')))[0]?.errorClass, 'server_error');
});

t.test('a whole 200 chat completion answering a stream request is replayed as a protocol-correct stream', async (t) => {
  const a = await startFakeUpstream(ok('whole answer'));
  t.teardown(() => a.close());
  const gw = await gateway(t, routeOver([a.url]));
  const { text, finish, usage, response } = await collectChatStream(gw.baseURL, { stream_options: { include_usage: true } });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  t.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  t.equal(text, 'whole answer');
  t.equal(finish, 'stop');
  t.match(usage, { prompt_tokens: 10, completion_tokens: 5 });
  t.equal(a.seen.length, 1, 'the answer is used, not thrown away for a retry');
  t.equal(response.headers.get('x-switchyard-attempts'), '1');

  // Raw bytes: ends with [DONE], every frame a chunk.
  const rawRes = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  const body = await rawRes.text();
  t.ok(body.endsWith('data: [DONE]\n\n'));
  t.match(body, /"object":"chat.completion.chunk"/);

  // The Responses entry over the same upstream: a Responses event stream, completed.
  const resp = await client.responses.create({ model: 'm', input: 'hi', stream: true });
  let out = '';
  let status: string | null | undefined = null;
  for await (const ev of resp) {
    if (ev.type === 'response.output_text.delta') out += ev.delta;
    if (ev.type === 'response.completed') status = ev.response.status;
  }
  t.equal(out, 'whole answer');
  t.equal(status, 'completed');
});

t.test('a whole 200 chat completion with tool calls reaches an Anthropic client as a Messages stream', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    const c = chatCompletion(String(seen.body?.model), '');
    c.choices[0] = { index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] } as never, finish_reason: 'tool_calls', logprobs: null };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(c));
  });
  t.teardown(() => a.close());
  const gw = await gateway(t, routeOverKinds([{ kind: 'openai', url: a.url }]));
  const client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const msg = await client.messages.stream({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'lookup', input_schema: { type: 'object' } }] }).finalMessage();
  t.equal(msg.stop_reason, 'tool_use');
  t.match(msg.content, [{ type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'x' } }]);
  t.match(msg.usage, { input_tokens: 10, output_tokens: 5 });
});

t.test('a whole 200 Anthropic message answering a stream request is replayed, to Anthropic and OpenAI clients', async (t) => {
  const up = await startFakeAnthropic((seen, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(anthropicMessage(String(seen.body?.model), 'claude whole')));
  });
  t.teardown(() => up.close());
  const gw = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: up.url }]));
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const msg = await anthropic.messages.stream({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  t.match(msg.content, [{ type: 'text', text: 'claude whole' }]);
  t.equal(msg.stop_reason, 'end_turn');
  t.match(msg.usage, { input_tokens: 12, output_tokens: 6 });
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'claude whole');
  t.equal(r.finish, 'stop');
  t.equal(up.seen.length, 2);
});

t.test('200 JSON Anthropic error bodies to a stream request: overloaded falls back unretried, api_error is a server_error, invalid_request_error a 400', async (t) => {
  const body = (type: string) => ({ type: 'error', error: { type, message: `fake ${type}` } });
  const a = await startFakeAnthropic(json200(body('overloaded_error')));
  const b = await startFakeAnthropic(anthropicOk('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'anthropic', url: b.url }], { retries: 1 }, { plugins: ['telemetry'] }));
  const client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const ask = { model: 'm', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };
  const { data: s, response } = await client.messages.create({ ...ask, stream: true }).withResponse();
  let text = '';
  for await (const ev of s) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
  t.equal(text, 'from b');
  t.equal(a.seen.length, 1, 'overloaded is not retried on the same target');
  t.equal((await attemptsOf(gw, response.headers.get('x-request-id')))[0]?.errorClass, 'overloaded');

  a.fallback = json200(body('api_error'));
  const msg = await client.messages.stream(ask).finalMessage();
  t.match(msg.content, [{ type: 'text', text: 'from b' }], 'api_error under a 200 fails over');
  t.equal(a.seen.length, 3, 'as a server_error: retried once');

  a.fallback = json200(body('invalid_request_error'));
  const err = await client.messages.stream(ask).finalMessage().then(() => null, (e: unknown) => e);
  t.ok(err instanceof Anthropic.BadRequestError, 'a request-level error reaches the client as its 400');
  t.equal(b.seen.length, 2, 'and burns no fallback');
});

t.test('an insufficient_quota error frame before content is quota, not server_error', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(String(seen.body?.model), { role: 'assistant', content: '' }));
    res.end(`data: ${JSON.stringify(openaiError('insufficient_quota', 'insufficient_quota', 'You exceeded your current quota'))}\n\n`);
  });
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  t.equal(a.seen.length, 1, 'not retried on the same target');
  t.equal((await attemptsOf(gw, r.response.headers.get('x-request-id')))[0]?.errorClass, 'quota');
});

t.test('an invalid_request_error frame before content is returned as a 400 and burns no fallback', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(String(seen.body?.model), { role: 'assistant', content: '' }));
    res.end(`data: ${JSON.stringify(openaiError('invalid_request_error', 'invalid_value', 'Invalid value for tool_choice'))}\n\n`);
  });
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url]));
  const err = await collectChatStream(gw.baseURL).then(() => null, (e: unknown) => e);
  t.ok(err instanceof OpenAI.BadRequestError);
  t.match((err as Error).message, /Invalid value for tool_choice/);
  t.equal(b.seen.length, 0);

  // The same frame to an Anthropic client over this upstream: its own error shape.
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const aerr = await anthropic.messages.stream({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage().then(() => null, (e: unknown) => e);
  t.ok(aerr instanceof Anthropic.BadRequestError);
  t.equal(b.seen.length, 0);
});

t.test('a non-stream 200 with a rate-limit error body is rate_limited (no retry), not server_error', async (t) => {
  const a = await startFakeUpstream(json200(openaiError('tokens', 'rate_limit_exceeded', 'Rate limit reached for tokens')));
  const b = await startFakeUpstream(ok('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(data.choices[0].message.content, 'from b');
  t.equal(a.seen.length, 1);
  t.equal((await attemptsOf(gw, response.headers.get('x-request-id')))[0]?.errorClass, 'rate_limited');
  // A 200 that is neither an answer nor an error body stays a server_error.
  a.fallback = raw(200, 'application/json', '{"nothing":"here"}');
  const again = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(again.choices[0].message.content, 'from b');
});

t.test('a client that stops reading cannot hold a stream open past deadline_ms', { timeout: 20000 }, async (t) => {
  const FRAME = 'x'.repeat(16 * 1024);
  // An endless stream that honours backpressure: it only goes on while someone reads.
  const a = await startFakeUpstream(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    while (!res.destroyed) if (!res.write(chunk(model, { content: FRAME }))) await new Promise((r) => res.once('drain', r).once('close', r));
  });
  let outcome: (o: { clientAborted: boolean; interrupted: boolean }) => void = () => {};
  const ended = new Promise<{ clientAborted: boolean; interrupted: boolean }>((r) => (outcome = r));
  const gw = await startGateway(routeOver([a.url], { deadline_ms: 1000 }), { setup: (hooks) => hooks.add('postResponse', (_ctx, o) => outcome(o), 'test') });
  const { request } = await import('node:http');
  const url = new URL(`${gw.baseURL}/chat/completions`);
  const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
    // Read the first bytes, then never again (the connection stays open).
    res.once('data', () => res.pause());
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  t.teardown(async () => { req.destroy(); await gw.close(); await a.close(); });
  const o = await ended;
  t.ok(o.clientAborted || o.interrupted, 'the request ends and its outcome is recorded');
  await a.seen[0].closed;
  t.pass('the upstream call is released');
});

t.test('an SSE event over the size cap before content is a malformed stream (server_error), not a connection failure', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(String(seen.body?.model), { role: 'assistant', content: '' }));
    // 5 MiB of one event that never ends: past the parser's 4 MiB cap.
    res.end('data: ' + 'x'.repeat(5 * 1024 * 1024));
  });
  const b = await startFakeUpstream(stream(['from b']));
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await gateway(t, routeOver([a.url, b.url], { retries: 1 }));
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'from b');
  const attempts = await attemptsOf(gw, r.response.headers.get('x-request-id'));
  t.equal(attempts[0]?.errorClass, 'server_error');
  t.match(attempts[0]?.message, /SSE/);
  t.equal(a.seen.length, 2, 'retried once, as a server error is');
});
