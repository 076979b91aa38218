import t from 'tap';
import fc from 'fast-check';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chatCompletion, chunk, startFakeUpstream, type Seen } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { protocolOf } from '../../core/server/errors.js';

/**
 * Random and malformed bodies at every data-plane entry point: the gateway must never
 * crash, never answer 5xx, never hang, and every error must be a JSON body in the entry
 * protocol's error shape.
 */

const KEY = 'ck-fuzz-0123456789abcdef';
const RUNS = Number(process.env.SY_FUZZ_RUNS ?? 150);
const REQUEST_TIMEOUT_MS = 10_000;

/** Behaves like a strict OpenAI-compatible server: validates what it gets, streams when asked. */
function realistic(seen: Seen, res: ServerResponse, _req: IncomingMessage): void {
  const body = seen.body;
  const bad = (message: string) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
  };
  if (!body || typeof body !== 'object') return bad('body must be an object');
  const model = String(body.model);
  if (seen.path.endsWith('/embeddings')) {
    if (typeof body.input !== 'string' && !Array.isArray(body.input)) return bad('input');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    return;
  }
  if (!seen.path.endsWith('/chat/completions')) return bad(`unknown path ${seen.path}`);
  if (!Array.isArray(body.messages)) return bad('messages must be an array');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return bad('stream must be a boolean');
  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: '' }));
    res.write(chunk(model, { content: 'fuzz' }));
    res.write(chunk(model, {}, 'stop'));
    res.end('data: [DONE]\n\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(chatCompletion(model, 'fuzz')));
}

// ── arbitraries ──────────────────────────────────────────────────────────────

const anyJson = fc.jsonValue({ maxDepth: 4 });
const message = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'tool', 'developer', 'nope'), content: fc.oneof(fc.string(), anyJson) }),
  anyJson,
);
const chatLike = fc.record(
  {
    model: fc.oneof({ weight: 4, arbitrary: fc.constant('m') }, fc.string(), anyJson),
    messages: fc.oneof({ weight: 3, arbitrary: fc.array(message, { maxLength: 6 }) }, anyJson),
    input: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 }), anyJson),
    system: fc.oneof(fc.string(), anyJson),
    stream: fc.oneof(fc.boolean(), anyJson),
    max_tokens: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.double(), anyJson),
    stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), anyJson) }), anyJson),
    tools: anyJson,
    extra: anyJson,
  },
  { requiredKeys: [] },
).map((o) => JSON.stringify(o));

const deepNesting = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.boolean()).map(([n, open, inBody]) => {
  const close = open === '[' ? ']' : '}';
  const v = open.repeat(n) + '1' + close.repeat(n);
  return inBody ? `{"model":"m","messages":[{"role":"user","content":"x"}],"metadata":${v}}` : v;
});

const hugeString = fc.integer({ min: 50_000, max: 400_000 }).map((n) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(n) }], input: 'y' }));

const invalidUtf8 = fc.tuple(chatLike, fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.nat()).map(([json, bytes, at]) => {
  const b = Buffer.from(json);
  const i = at % (b.length + 1);
  return Buffer.concat([b.subarray(0, i), Buffer.from(bytes.map((x) => x | 0x80)), b.subarray(i)]);
});

const truncated = fc.tuple(chatLike, fc.nat()).map(([json, at]) => json.slice(0, at % Math.max(1, json.length)));

const bodies = fc.oneof(
  { weight: 3, arbitrary: chatLike },
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeString },
  { weight: 2, arbitrary: invalidUtf8 },
  { weight: 2, arbitrary: truncated },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
);

const contentTypes = fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8', 'text/plain', undefined, 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream');

const auth = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Record<string, string>>({ authorization: `Bearer ${KEY}` }) },
  { weight: 2, arbitrary: fc.constant<Record<string, string>>({ 'x-api-key': KEY }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({}, { authorization: 'Bearer wrong' }, { authorization: 'Basic Zm9vOmJhcg==' }, { 'x-api-key': '' }) },
);

// ── the run ──────────────────────────────────────────────────────────────────

const CANDIDATE_PATHS = ['/v1/chat/completions', '/v1/embeddings', '/v1/messages', '/v1/messages/count_tokens', '/v1/responses'];

t.test('fuzz: random and malformed bodies at every entry point never crash, 5xx or hang', async (t) => {
  const up = await startFakeUpstream(realistic);
  const gw = await startGateway({
    server: { host: '127.0.0.1', port: 0, body_limit_mb: 0.25, max_json_depth: 32, max_messages: 50 },
    providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
    routes: [{ model: 'm', retries: 0, timeout_ms: 5000, targets: [{ provider: 'p1', model: 'up-m' }] }],
    keys: [{ id: 'fuzz', key: KEY }],
    plugins: [],
  });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const paths = CANDIDATE_PATHS.filter((url) => gw.gw.app.hasRoute({ method: 'POST', url }));
  t.ok(paths.includes('/v1/chat/completions') && paths.includes('/v1/embeddings'), `entry points: ${paths.join(', ')}`);

  const statuses = new Map<number, number>();
  for (const path of paths) {
    const anthropic = protocolOf(path) === 'anthropic';
    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, auth, async (body, contentType, authHeaders) => {
        const headers: Record<string, string> = { ...authHeaders };
        if (contentType) headers['content-type'] = contentType;
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await res.text(); // a stream must end too, within the timeout
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
        if (res.status >= 400) {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            throw new Error(`${path}: ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
          }
          const shaped = anthropic ? json?.type === 'error' && typeof json.error?.message === 'string' && typeof json.error?.type === 'string' : typeof json?.error?.message === 'string' && typeof json.error?.type === 'string';
          if (!shaped) throw new Error(`${path}: ${res.status} not in the ${anthropic ? 'Anthropic' : 'OpenAI'} error shape: ${text.slice(0, 200)}`);
        }
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 90_000, seed: process.env.SY_FUZZ_SEED ? Number(process.env.SY_FUZZ_SEED) : undefined },
    );
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  t.ok([...statuses.keys()].some((s) => s === 200), 'some bodies were valid and served');
  t.ok([...statuses.keys()].some((s) => s === 400), 'malformed bodies got 400');
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'the gateway is still up');
  const severe = gw.logs.filter((l) => Number(l.level) >= 50);
  t.same(severe, [], 'no error-level log lines (nothing fell into the internal-error path)');
});
