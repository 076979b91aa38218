import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, raw, closedPort } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

/** Each story: a route over fake upstreams, a client through the gateway, what each upstream saw. */

const ask = (baseURL: string) => (body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming) =>
  new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create(body).withResponse();

t.test('a healthy first target answers directly, with the model rewritten and the gateway headers set', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused' });
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(data.choices[0].message.content, 'from a');
  t.equal(a.seen.length, 1);
  t.equal(a.seen[0].body?.model, 'up-model-1', 'public model rewritten to the upstream model');
  t.equal(a.seen[0].headers.authorization, 'Bearer sk-test-provider-key-1', 'the gateway adds the provider key');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'direct');
  t.equal(response.headers.get('x-switchyard-provider'), 'p1');
  t.equal(response.headers.get('x-switchyard-model'), 'up-model-1');
  t.equal(response.headers.get('x-switchyard-attempts'), '1');
  t.match(response.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
});

t.test('the client key is never forwarded upstream', async (t) => {
  const a = await startFakeUpstream(ok());
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  await new OpenAI({ baseURL: gw.baseURL, apiKey: 'client-secret-key-xyz' }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.notMatch(JSON.stringify(a.seen[0].headers), /client-secret-key-xyz/);
});

const fallbackCases: { name: string; first: ReturnType<typeof fail>; cls: string }[] = [
  { name: '429 rate limit', first: fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '20' }), cls: 'rate_limited' },
  { name: 'insufficient_quota', first: fail(429, { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }), cls: 'quota' },
  { name: '402 billing', first: fail(402), cls: 'quota' },
  { name: '401 bad provider key', first: fail(401, { error: { message: 'Incorrect API key provided: sk-abc', type: 'invalid_request_error', code: 'invalid_api_key' } }), cls: 'account_auth' },
  { name: '403 forbidden', first: fail(403), cls: 'account_auth' },
  { name: '503 overloaded', first: fail(503), cls: 'overloaded' },
  { name: '529 overloaded', first: fail(529), cls: 'overloaded' },
  { name: 'a 200 with an HTML page', first: raw(200, 'text/html', '<html>oops</html>'), cls: 'server_error' },
  { name: 'a 200 whose JSON does not parse', first: raw(200, 'application/json', '{"choices": [tru'), cls: 'server_error' },
];

for (const c of fallbackCases) {
  t.test(`${c.name} (${c.cls}) falls back to the next target`, async (t) => {
    const a = await startFakeUpstream(c.first);
    const b = await startFakeUpstream(ok('from b'));
    const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
    t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
    const { data, response } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    t.equal(data.choices[0].message.content, 'from b');
    t.equal(a.seen.length, 1, 'exactly one request reached the failing upstream');
    t.equal(b.seen.length, 1);
    t.equal(b.seen[0].body?.model, 'up-model-2');
    t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
    t.equal(response.headers.get('x-switchyard-attempts'), '2');
    t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  });
}

t.test('same upstream model on the next target is route mode "fallback"', async (t) => {
  const a = await startFakeUpstream(fail(429));
  const b = await startFakeUpstream(ok());
  const gw = await startGateway(routeOver([a.url, b.url], {}, ['same', 'same']));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { response } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(response.headers.get('x-switchyard-route-mode'), 'fallback');
});

t.test('connection refused falls back', async (t) => {
  const port = await closedPort();
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([`http://127.0.0.1:${port}/v1`, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await b.close(); });
  const { data, response } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(data.choices[0].message.content, 'from b');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
});

t.test('a 5xx is retried once on the same target (route mode retry), then succeeds', async (t) => {
  const a = await startFakeUpstream(ok('second try'));
  a.queue(fail(500));
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 1 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { data, response } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(data.choices[0].message.content, 'second try');
  t.equal(a.seen.length, 2);
  t.equal(b.seen.length, 0);
  t.equal(response.headers.get('x-switchyard-route-mode'), 'retry');
});

t.test('one retry budget per request: retries never multiply across targets', async (t) => {
  const ups = await Promise.all([1, 2, 3].map(() => startFakeUpstream(fail(500))));
  const gw = await startGateway(routeOver(ups.map((u) => u.url), { retries: 1 }));
  t.teardown(async () => { await gw.close(); for (const u of ups) await u.close(); });
  // The SDK would retry a 502 twice on its own; the gateway says x-should-retry: false.
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 2 });
  const err = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
  t.type(err, OpenAI.APIError);
  t.equal((err as InstanceType<typeof OpenAI.APIError>).status, 502);
  t.equal((err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-should-retry'), 'false');
  const total = ups.reduce((n, u) => n + u.seen.length, 0);
  t.equal(total, 4, '3 targets + 1 retry, and no SDK retries on top');
  t.equal(ups[0].seen.length, 2, 'the single retry went to the first target');
});

t.test('request-level 4xx is returned as is and burns no fallback', async (t) => {
  const body = { error: { message: 'Invalid value for temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } };
  const a = await startFakeUpstream(fail(400, body));
  const b = await startFakeUpstream(ok());
  const gw = await startGateway(routeOver([a.url, b.url]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 9 }) });
  t.equal(res.status, 400);
  t.same(await res.json(), body, 'the upstream error body, unchanged');
  t.equal(a.seen.length, 1);
  t.equal(b.seen.length, 0, 'no fallback for a bad request');
});

t.test('context_length falls back only to a target with a larger window', async (t) => {
  const tooSmall = fail(400, { error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } });
  const a = await startFakeUpstream(tooSmall);
  const b = await startFakeUpstream(ok('b should be skipped'));
  const c = await startFakeUpstream(ok('from big window'));
  const gw = await startGateway({
    providers: [a, b, c].map((u, i) => ({ id: `p${i + 1}`, kind: 'openai', base_url: u.url })),
    routes: [{ model: 'm', targets: [
      { provider: 'p1', model: 'small', context_window: 8192 },
      { provider: 'p2', model: 'also-small', context_window: 8192 },
      { provider: 'p3', model: 'big', context_window: 200000 },
    ] }],
  });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close(); });
  const { data } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'long' }] });
  t.equal(data.choices[0].message.content, 'from big window');
  t.equal(b.seen.length, 0, 'same-size window skipped');

  // With no larger window left, the upstream's own error comes back.
  const a2 = await startFakeUpstream(tooSmall);
  const gw2 = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: a2.url }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'small', context_window: 8192 }] }] });
  t.teardown(async () => { await gw2.close(); await a2.close(); });
  const res = await fetch(`${gw2.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { code: 'context_length_exceeded' } });
});

t.test('content_filter refusals are returned by default, and fall back when the route says so', async (t) => {
  const filtered = { id: 'x', object: 'chat.completion', created: 1, model: 'a', choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'no' }, finish_reason: 'content_filter' }] };
  const a = await startFakeUpstream(raw(200, 'application/json', JSON.stringify(filtered)));
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([a.url, b.url]));
  const gw2 = await startGateway(routeOver([a.url, b.url], { on_content_filter: 'fallback' }));
  t.teardown(async () => { await gw.close(); await gw2.close(); await a.close(); await b.close(); });
  const r1 = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  t.equal(r1.data.choices[0].finish_reason, 'content_filter');
  t.equal(b.seen.length, 0);
  const r2 = await ask(gw2.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  t.equal(r2.data.choices[0].message.content, 'from b');
});

t.test('all targets rate limited: 429 with Retry-After and x-should-retry false', async (t) => {
  const a = await startFakeUpstream(fail(429, undefined, { 'retry-after': '7' }));
  const b = await startFakeUpstream(fail(429, undefined, { 'retry-after-ms': '3000' }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 429);
  t.equal(res.headers.get('retry-after'), '3', 'the last failure\'s Retry-After, in seconds');
  t.equal(res.headers.get('x-should-retry'), 'false');
  t.equal(res.headers.get('x-switchyard-attempts'), '2');
  const body = await res.json() as { error: { code: string; type: string; message: string } };
  t.equal(body.error.code, 'SY_ERR_UPSTREAM_EXHAUSTED');
  t.match(body.error.message, /rate_limited/);
});

t.test('a single target that asks for a short Retry-After is retried after waiting', async (t) => {
  const a = await startFakeUpstream(ok('after wait'));
  a.queue(fail(429, undefined, { 'retry-after-ms': '150' }));
  const gw = await startGateway(routeOver([a.url], { retries: 1, max_retry_wait_ms: 1000 }));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const t0 = Date.now();
  const { data, response } = await ask(gw.baseURL)({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  t.equal(data.choices[0].message.content, 'after wait');
  t.ok(Date.now() - t0 >= 140, 'waited for the Retry-After');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'retry');
});

t.test('upstream auth errors never leak the upstream message (it can echo key fragments)', async (t) => {
  const a = await startFakeUpstream(fail(401, { error: { message: 'Incorrect API key provided: sk-test-provider-key-1', type: 'invalid_request_error', code: 'invalid_api_key' } }));
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 502);
  const text = await res.text();
  t.notMatch(text, /sk-test-provider-key/);
  t.notMatch(JSON.stringify(gw.logs), /sk-test-provider-key/);
});

t.test('embeddings use the same routing and failover', async (t) => {
  const a = await startFakeUpstream(fail(503));
  const b = await startFakeUpstream(ok());
  const gw = await startGateway(routeOver([a.url, b.url]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await client.embeddings.create({ model: 'm', input: 'hello', encoding_format: 'float' }).withResponse();
  t.same(data.data[0].embedding, [0.5, 0.25]);
  t.equal(b.seen[0].path, '/v1/embeddings');
  t.equal(b.seen[0].body?.model, 'up-model-2');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
});
