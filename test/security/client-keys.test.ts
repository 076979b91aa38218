import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { chat, ensureAnthropicEntry, post, type Teardown } from '../helpers/security.js';

const KEY_A = 'ck-team-a-0123456789abcdef';
const KEY_B = 'ck-team-b-0123456789abcdef';
const KEY_ALL = 'ck-all-routes-0123456789ab';

async function keyedGateway(t: Teardown) {
  const up = await startFakeUpstream(ok('served'));
  const seenKeyIds: (string | null)[] = [];
  const seenHeaders: Record<string, unknown>[] = [];
  const gw = await startGateway(
    {
      providers: [{ id: 'p1', kind: 'openai', base_url: up.url, api_key: 'sk-provider-secret-1234567890' }],
      routes: [
        { model: 'm', targets: [{ provider: 'p1', model: 'up-m' }] },
        { model: 'other', targets: [{ provider: 'p1', model: 'up-other' }] },
      ],
      keys: [
        { id: 'team-a', key: KEY_A, routes: ['m'] },
        { id: 'team-b', key: KEY_B, routes: ['other'] },
        { id: 'all', key: KEY_ALL },
      ],
      plugins: [],
    },
    {
      setup(hooks, gw) {
        ensureAnthropicEntry(gw);
        hooks.add('preRoute', (ctx) => {
          seenKeyIds.push(ctx.summary.keyId);
          seenHeaders.push({ ...ctx.headers });
        }, 'test-probe');
      },
    },
  );
  t.teardown(async () => { await gw.close(); await up.close(); });
  return { gw, up, seenKeyIds, seenHeaders };
}

t.test('a request without a key, or with a wrong key, is 401 in the OpenAI shape and reaches nothing', async (t) => {
  const { gw, up, seenKeyIds } = await keyedGateway(t);
  const none = await post(`${gw.baseURL}/chat/completions`, chat());
  t.equal(none.status, 401);
  t.match(none.json, { error: { code: 'SY_ERR_UNAUTHORIZED', type: 'invalid_request_error', message: /missing API key/ } });
  t.equal(none.headers.get('www-authenticate'), 'Bearer');
  t.match(none.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);

  const wrong = await post(`${gw.baseURL}/chat/completions`, chat(), { authorization: `Bearer ${KEY_A}x` });
  t.equal(wrong.status, 401);
  t.match(wrong.json, { error: { code: 'SY_ERR_UNAUTHORIZED', message: 'invalid API key' } });
  t.notMatch(wrong.text, KEY_A, 'the presented key is not echoed');

  // The OpenAI SDK sees an AuthenticationError.
  const err = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'not-a-key', maxRetries: 0 }).chat.completions.create(chat() as never).catch((e: unknown) => e);
  t.type(err, OpenAI.AuthenticationError);

  // Unauthenticated requests are refused before the body is even parsed.
  const garbage = await post(`${gw.baseURL}/chat/completions`, '{not json');
  t.equal(garbage.status, 401);
  // ... and other data-plane routes are covered too.
  t.equal((await fetch(`${gw.baseURL}/models`)).status, 401);
  t.equal((await post(`${gw.baseURL}/embeddings`, { model: 'm', input: 'x' })).status, 401);
  // Operations endpoints stay open.
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200);

  t.equal(up.seen.length, 0, 'nothing reached the upstream');
  t.same(seenKeyIds, [], 'no pipeline hook ran');
});

t.test('Authorization: Bearer and x-api-key both authenticate; the key id reaches ctx.summary.keyId; the key is stripped', async (t) => {
  const { gw, up, seenKeyIds, seenHeaders } = await keyedGateway(t);
  const sdk = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
  const r = await sdk.chat.completions.create(chat() as never);
  t.equal((r as OpenAI.Chat.ChatCompletion).choices[0].message.content, 'served');

  const viaHeader = await post(`${gw.baseURL}/chat/completions`, chat(), { 'x-api-key': KEY_ALL });
  t.equal(viaHeader.status, 200);
  t.same(seenKeyIds, ['team-a', 'all']);

  for (const h of seenHeaders) {
    t.notOk('authorization' in h, 'hooks never see the Authorization header');
    t.notOk('x-api-key' in h, 'hooks never see x-api-key');
  }
  for (const s of up.seen) {
    t.equal(s.headers.authorization, 'Bearer sk-provider-secret-1234567890', 'upstream gets the provider key');
    t.notOk(s.headers['x-api-key'], 'no client x-api-key upstream');
    t.notMatch(JSON.stringify(s.headers), /ck-(team|all)/, 'no client key upstream');
  }
  t.equal((await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${KEY_B}` } })).status, 200);
});

t.test('a key reaching a route it does not own is 403, in the entry protocol\'s error shape, before any upstream call', async (t) => {
  const { gw, up } = await keyedGateway(t);
  const openai = await post(`${gw.baseURL}/chat/completions`, chat(), { authorization: `Bearer ${KEY_B}` });
  t.equal(openai.status, 403);
  t.match(openai.json, { error: { code: 'SY_ERR_FORBIDDEN', type: 'invalid_request_error', param: 'model', message: /may not use model "m"/ } });
  t.ok(openai.headers.get('x-request-id'));

  const anthropic = await post(`${gw.baseURL}/messages`, { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY_B });
  t.equal(anthropic.status, 403);
  t.match(anthropic.json, { type: 'error', error: { type: 'permission_error', code: 'SY_ERR_FORBIDDEN' } });

  const anthropic401 = await post(`${gw.baseURL}/messages`, { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': 'nope-nope-nope' });
  t.equal(anthropic401.status, 401);
  t.match(anthropic401.json, { type: 'error', error: { type: 'authentication_error', code: 'SY_ERR_UNAUTHORIZED' } });

  // The same key on its own route works; a key with no routes list may use every route.
  t.equal((await post(`${gw.baseURL}/chat/completions`, { ...chat(), model: 'other' }, { authorization: `Bearer ${KEY_B}` })).status, 200);
  t.equal((await post(`${gw.baseURL}/chat/completions`, chat(), { authorization: `Bearer ${KEY_ALL}` })).status, 200);
  t.equal(up.seen.length, 2, 'only the two allowed requests reached the upstream');
});

t.test('without keys, the gateway serves loopback clients and says so in the log', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], plugins: [] });
  t.teardown(async () => { await gw.close(); await up.close(); });
  t.equal((await post(`${gw.baseURL}/chat/completions`, chat(), { authorization: 'Bearer anything' })).status, 200);
  t.ok(gw.logs.some((l) => l.level === 40 && /no client keys configured/.test(String(l.msg))), 'a warning at start');
});
