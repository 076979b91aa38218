import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, stream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { redactConfig, scrub } from '../../core/access/secrets.js';

/**
 * Run a gateway holding known secrets through success, failure, auth and admin flows, keep
 * every byte it sends back and every log line it writes, and grep all of it for the secrets.
 */

const PROVIDER_KEY = 'sk-prov-SECRET-aaaaaaaaaaaa1111';
const PROVIDER_KEY_2 = 'sk-prov-SECRET-bbbbbbbbbbbb2222';
const PROVIDER_HEADER = 'hdr-SECRET-cccccccccccc3333';
const CLIENT_KEY = 'ck-client-SECRET-dddddddd4444';
const CLIENT_KEY_2 = 'ck-client-SECRET-eeeeeeee5555';
const ADMIN = 'adm-SECRET-ffffffffffffffff6666';
const VIEWER = 'view-SECRET-gggggggggggggg7777';
const SECRETS = [PROVIDER_KEY, PROVIDER_KEY_2, PROVIDER_HEADER, CLIENT_KEY, CLIENT_KEY_2, ADMIN, VIEWER];

t.test('secrets never reach logs, responses, error messages, the admin API or metrics', async (t) => {
  // p1 rejects its key and echoes it (as OpenAI does: "Incorrect API key provided: sk-..."),
  // then passes a 400 through that echoes it too; p2 serves.
  const echo401 = fail(401, { error: { message: `Incorrect API key provided: ${PROVIDER_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
  const echo400 = fail(400, { error: { message: `Bad request for key ${PROVIDER_KEY} and header ${PROVIDER_HEADER}`, type: 'invalid_request_error', code: 'bad' } });
  const p1 = await startFakeUpstream(echo401);
  const p2 = await startFakeUpstream(ok('fine'));
  const solo = await startFakeUpstream(echo401);
  const bad = await startFakeUpstream(echo400);
  const gw = await startGateway(
    {
      providers: [
        { id: 'p1', kind: 'openai', base_url: p1.url, api_key: PROVIDER_KEY, headers: { 'x-extra-auth': PROVIDER_HEADER } },
        { id: 'p2', kind: 'openai', base_url: p2.url, api_key: PROVIDER_KEY_2 },
        { id: 'solo', kind: 'openai', base_url: solo.url, api_key: PROVIDER_KEY },
        { id: 'bad', kind: 'openai', base_url: bad.url, api_key: PROVIDER_KEY, headers: { 'x-extra-auth': PROVIDER_HEADER } },
      ],
      routes: [
        { model: 'm', retries: 0, targets: [{ provider: 'p1', model: 'a' }, { provider: 'p2', model: 'b' }] },
        { model: 'solo', retries: 0, targets: [{ provider: 'solo', model: 's' }] },
        { model: 'bad', retries: 0, targets: [{ provider: 'bad', model: 'x' }] },
      ],
      keys: [{ id: 'team', key: CLIENT_KEY }, { id: 'other', key: CLIENT_KEY_2, routes: ['solo'] }],
      admin: { token: ADMIN, viewer_token: VIEWER },
      logging: { level: 'debug' },
    },
    {
      dataDir: ':memory:',
      setup(hooks, g) {
        // A careless plugin: logs request headers and the whole config, and throws with a key in the message.
        hooks.add('preRoute', (ctx) => {
          ctx.log.info({ headers: ctx.headers, config: g.config, raw: JSON.stringify(g.config) }, 'careless plugin');
        }, 'careless');
        hooks.add('postResponse', () => {
          throw new Error(`careless failure with ${PROVIDER_KEY} and ${ADMIN}`);
        }, 'careless');
      },
    },
  );
  t.teardown(async () => { await gw.close(); await p1.close(); await p2.close(); await solo.close(); await bad.close(); });

  const seen: string[] = [];
  const record = async (res: Response) => {
    const body = await res.text();
    seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${body}`);
    return { status: res.status, body };
  };
  const req = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${gw.url}${path}`, {
      ...init,
      headers: { ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    }).then(record);
  const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

  // 1. Success through fallback (p1's 401 echoes its key), with each credential header.
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: chat, headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status, 200);
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: chat, headers: { 'x-api-key': CLIENT_KEY } })).status, 200);
  // Streaming through the SDK.
  p2.queue(stream(['a', 'b'], { usage: true }));
  const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  let text = '';
  for await (const c of await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += c.choices[0]?.delta?.content ?? '';
  seen.push(text);
  // 2. Upstream 401 echoing the key, with no fallback: a 502.
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: { ...chat, model: 'solo' }, headers: { authorization: `Bearer ${CLIENT_KEY_2}` } })).status, 502);
  // 3. A request-level 400 passed through as the upstream sent it — minus the secrets.
  const passthrough = await req('/v1/chat/completions', { method: 'POST', json: { ...chat, model: 'bad' }, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  t.equal(passthrough.status, 400);
  t.match(passthrough.body, /Bad request for key \[redacted\] and header \[redacted\]/, 'the passthrough body is scrubbed');
  // 4. Bad client keys: a near miss, another route's key, a key in the wrong place.
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: chat, headers: { authorization: `Bearer ${CLIENT_KEY.slice(0, -1)}X` } })).status, 401);
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: chat, headers: { authorization: `Bearer ${CLIENT_KEY_2}` } })).status, 403);
  t.equal((await req('/v1/chat/completions', { method: 'POST', json: chat, headers: { authorization: `Bearer ${ADMIN}` } })).status, 401, 'the admin token is not a client key');
  t.equal((await req('/v1/embeddings', { method: 'POST', body: `{"model":"m","input":"${CLIENT_KEY}`, headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' } })).status, 400, 'malformed JSON holding a secret');
  // 5. Admin: bearer, viewer, wrong tokens, a session, and every read endpoint there is.
  t.equal((await req('/admin/api/whoami', { headers: { authorization: `Bearer ${ADMIN}` } })).status, 200);
  t.equal((await req('/admin/api/whoami', { headers: { authorization: `Bearer ${VIEWER}` } })).status, 200);
  t.equal((await req('/admin/api/whoami', { headers: { authorization: `Bearer ${ADMIN}x` } })).status, 401);
  t.equal((await req('/admin/api/session', { method: 'POST', json: { token: `${VIEWER}x` } })).status, 401);
  const session = await fetch(`${gw.url}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: ADMIN }) });
  const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0];
  await record(session);
  t.ok(cookie);
  await sleepForPostResponse();
  for (const path of ['/admin/api/providers', '/admin/api/requests', '/admin/api/config', '/admin/api/policies', '/admin/api/audit', '/admin/api/whoami']) {
    t.equal((await req(path, { headers: { cookie } })).status, 200, `admin read ${path} (cookie)`);
    t.equal((await req(path, { headers: { authorization: `Bearer ${VIEWER}` } })).status, 200, `admin read ${path} (viewer)`);
  }
  const cfg = await fetch(`${gw.url}/admin/api/config`, { headers: { authorization: `Bearer ${ADMIN}` } }).then(record);
  const active = (JSON.parse(cfg.body) as { active?: string }).active;
  if (active) await req(`/admin/api/config/revisions/${active}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  // 6. Metrics.
  await req('/metrics');

  await sleepForPostResponse();
  const logs = JSON.stringify(gw.logs);
  const everything = seen.join('\n') + '\n' + logs;
  for (const s of SECRETS) t.notOk(everything.includes(s), `secret ${s.slice(0, 12)}… appears nowhere`);
  for (const s of SECRETS) t.notOk(everything.includes(Buffer.from(s).toString('base64')), 'nor base64-encoded');

  // The test is not vacuous: the secrets were there to leak.
  t.ok(p1.seen.some((s) => s.headers.authorization === `Bearer ${PROVIDER_KEY}`), 'the upstream got its key');
  t.ok(gw.logs.some((l) => l.msg === 'careless plugin'), 'the careless plugin logged its objects');
  t.ok(gw.logs.some((l) => l.msg === 'plugin hook failed' && /\[redacted\]/.test(JSON.stringify(l))), 'the thrown error was logged, scrubbed');
  t.match(logs, /\[redacted\]/);
  for (const s of [...p1.seen, ...p2.seen, ...solo.seen, ...bad.seen]) t.notMatch(JSON.stringify(s.headers), /ck-client-SECRET/, 'client keys never go upstream');
});

async function sleepForPostResponse(): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
}

t.test('scrub and redactConfig', async (t) => {
  t.equal(scrub(`x ${PROVIDER_KEY} y`), 'x [redacted] y');
  t.equal(scrub('nothing here'), 'nothing here');
  const c = redactConfig({ providers: [{ api_key: PROVIDER_KEY, headers: { a: PROVIDER_HEADER } }], keys: [{ key: CLIENT_KEY }], admin: { token: ADMIN, viewer_token: VIEWER }, limits: { redis_url: 'redis://:s3cret-redis-pass@10.0.0.1:6379' } });
  t.notMatch(JSON.stringify(c), /SECRET|s3cret/);
  t.equal(c.limits.redis_url, 'redis://:redacted@10.0.0.1:6379');
});
