import t from 'tap';
import fc from 'fast-check';
import { request } from 'node:http';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { jsonDepthExceeds } from '../../core/server/limits.js';
import { chat, ensureAnthropicEntry, post, type Teardown } from '../helpers/security.js';

async function limitedGateway(t: Teardown, server: object = {}) {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway(
    {
      server: { host: '127.0.0.1', port: 0, max_json_depth: 8, max_messages: 5, max_header_bytes: 8192, body_limit_mb: 0.5, ...server },
      providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
      routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }],
      plugins: [],
    },
    { setup: (_h, gw) => ensureAnthropicEntry(gw) },
  );
  t.teardown(async () => { await gw.close(); await up.close(); });
  return { gw, up };
}

/** An object nested `depth` levels deep (the body itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let inner: Record<string, unknown> = { leaf: 1 };
  for (let i = 3; i <= depth; i++) inner = { n: inner };
  return { ...chat(), metadata: inner };
}

t.test('jsonDepthExceeds counts brackets outside strings only', async (t) => {
  t.equal(jsonDepthExceeds('{}', 1), false);
  t.equal(jsonDepthExceeds('{"a":[1]}', 1), true);
  t.equal(jsonDepthExceeds('{"a":[1]}', 2), false);
  t.equal(jsonDepthExceeds('{"a":"[[[[[[[[{{{{{{"}', 1), false, 'brackets inside strings do not count');
  t.equal(jsonDepthExceeds('{"a":"\\"[[[["}', 1), false, 'escaped quotes do not end the string');
  t.equal(jsonDepthExceeds('{"a":"x\\\\","b":[[1]]}', 2), true, 'an escaped backslash before a quote ends the string');
  t.equal(jsonDepthExceeds('['.repeat(1_000_000), 64), true);
  // Against the depth of the parsed value, for any JSON (strings full of quotes, backslashes, brackets).
  const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0);
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 7 }), (v, max) => jsonDepthExceeds(JSON.stringify(v), max) === depthOf(v) > max),
    { numRuns: 2000 },
  );
});

t.test('JSON nesting deeper than server.max_json_depth is a 400 in the entry\'s error shape', async (t) => {
  const { gw, up } = await limitedGateway(t);
  // chat() has depth 4 (body → messages → message) — metadata nests to the given depth.
  t.equal((await post(`${gw.baseURL}/chat/completions`, nested(8))).status, 200, 'depth 8 is fine');
  const deep = await post(`${gw.baseURL}/chat/completions`, nested(9));
  t.equal(deep.status, 400);
  t.match(deep.json, { error: { code: 'SY_ERR_INVALID_REQUEST', type: 'invalid_request_error', message: /deeper than 8 levels/ } });

  const anthropic = await post(`${gw.baseURL}/messages`, { ...nested(9), max_tokens: 5 });
  t.equal(anthropic.status, 400);
  t.match(anthropic.json, { type: 'error', error: { type: 'invalid_request_error', message: /deeper than 8/ } });

  // A million levels: refused by the scan, without recursion, with any content-type.
  for (const ct of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    const t0 = Date.now();
    const r = await post(`${gw.baseURL}/chat/completions`, '['.repeat(400_000) + ']'.repeat(100_000), { 'content-type': ct });
    t.equal(r.status, 400, `400 for ${ct}`);
    t.ok(Date.now() - t0 < 2000, 'quickly');
  }
  t.equal(up.seen.length, 1);
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'still serving');
});

t.test('message count, wrong types and prototype poisoning are clear 400s that never reach an upstream', async (t) => {
  const { gw, up } = await limitedGateway(t);
  const url = `${gw.baseURL}/chat/completions`;
  const msgs = (n: number) => Array.from({ length: n }, () => ({ role: 'user', content: 'x' }));
  t.equal((await post(url, { model: 'm', messages: msgs(5) })).status, 200, '5 messages: fine');
  const many = await post(url, { model: 'm', messages: msgs(6) });
  t.equal(many.status, 400);
  t.match(many.json, { error: { code: 'SY_ERR_INVALID_REQUEST', param: 'messages', message: /too many messages: 6 .*at most 5/ } });
  const anthropicMany = await post(`${gw.baseURL}/messages`, { model: 'm', max_tokens: 5, messages: msgs(6) });
  t.equal(anthropicMany.status, 400);
  t.match(anthropicMany.json, { type: 'error', error: { type: 'invalid_request_error', message: /too many messages/ } });

  const cases: [string, unknown, string][] = [
    ['/chat/completions', { model: 'm' }, 'messages'],
    ['/chat/completions', { model: 'm', messages: 'hello' }, 'messages'],
    ['/chat/completions', { model: 'm', messages: [1, 2] }, 'messages[0]'],
    ['/chat/completions', { model: 'm', messages: [null] }, 'messages[0]'],
    ['/chat/completions', { model: 'm', messages: [], stream: 'yes' }, 'stream'],
    ['/chat/completions', { model: 'm', messages: [], stream: 1 }, 'stream'],
    ['/embeddings', { model: 'm' }, 'input'],
    ['/embeddings', { model: 'm', input: { a: 1 } }, 'input'],
    ['/embeddings', { model: 'm', input: Array(6).fill('x') }, 'input'],
    ['/chat/completions', { model: 42, messages: [] }, 'model'],
    ['/chat/completions', { model: ['m'], messages: [] }, 'model'],
  ];
  for (const [path, body, param] of cases) {
    const r = await post(`${gw.baseURL}${path}`, body);
    t.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.match(r.json, { error: { param, type: 'invalid_request_error' } });
  }
  const proto = await post(url, '{"model":"m","messages":[],"__proto__":{"polluted":true}}');
  t.equal(proto.status, 400);
  t.match(proto.json, { error: { code: 'SY_ERR_INVALID_JSON', message: /__proto__/ } });
  const ctor = await post(url, '{"model":"m","messages":[],"constructor":{"prototype":{"polluted":true}}}');
  t.equal(ctor.status, 400);
  const truncated = await post(url, '{"model":"m","messages":[{"role":"us');
  t.equal(truncated.status, 400);
  t.match(truncated.json, { error: { code: 'SY_ERR_INVALID_JSON', message: /not valid JSON/ } });
  t.equal(up.seen.length, 1, 'only the one valid request reached the upstream');
});

t.test('bodies over server.body_limit_mb are 413, in the Anthropic shape on /v1/messages too', async (t) => {
  const { gw } = await limitedGateway(t);
  const big = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(600_000) }] };
  const o = await post(`${gw.baseURL}/chat/completions`, big);
  t.equal(o.status, 413);
  t.match(o.json, { error: { code: 'SY_ERR_BODY_TOO_LARGE' } });
  const a = await post(`${gw.baseURL}/messages`, big);
  t.equal(a.status, 413);
  t.match(a.json, { type: 'error', error: { type: 'request_too_large' } });
});

t.test('headers over server.max_header_bytes are a 431 with a JSON error body', async (t) => {
  const { gw, up } = await limitedGateway(t);
  const port = gw.gw.port;
  const res = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', 'x-padding': 'a'.repeat(10_000) } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(chat()));
  });
  t.equal(res.status, 431);
  t.equal(res.headers['content-type'], 'application/json');
  t.match(JSON.parse(res.body), { error: { code: 'SY_ERR_HEADERS_TOO_LARGE', type: 'invalid_request_error', message: /headers are too large/ } });
  // Headers just under the limit are fine.
  const fine = await post(`${gw.baseURL}/chat/completions`, chat(), { 'x-padding': 'a'.repeat(6_000) });
  t.equal(fine.status, 200);
  t.equal(up.seen.length, 1);
});

t.test('invalid UTF-8 is never a 5xx', async (t) => {
  const { gw } = await limitedGateway(t);
  const inString = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}]}')]);
  const outside = Buffer.concat([Buffer.from('{"model":"m",'), Buffer.from([0xff, 0xc0]), Buffer.from('"messages":[]}')]);
  for (const body of [inString, outside]) {
    const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    t.ok(res.status < 500, `status ${res.status}`);
    await res.arrayBuffer();
  }
});
