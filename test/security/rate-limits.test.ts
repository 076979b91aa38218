import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { MemoryCounterStore, msUntilFits, slidingCount, WINDOW_MS } from '../../core/access/counters.js';
import { chat, ensureAnthropicEntry, post, sleep, type Teardown } from '../helpers/security.js';

const KEY_A = 'ck-team-a-0123456789abcdef';
const KEY_B = 'ck-team-b-0123456789abcdef';

async function limited(t: Teardown, extra: { key?: object; route?: object; targets?: object[]; upstreams?: number } = {}) {
  const ups = await Promise.all(Array.from({ length: extra.upstreams ?? 1 }, (_, i) => startFakeUpstream(ok(`from ${i + 1}`))));
  const gw = await startGateway(
    {
      providers: ups.map((u, i) => ({ id: `p${i + 1}`, kind: 'openai', base_url: u.url })),
      routes: [{ model: 'm', retries: 0, targets: extra.targets ?? ups.map((_u, i) => ({ provider: `p${i + 1}`, model: `up-${i + 1}` })), ...(extra.route ?? {}) }],
      keys: [{ id: 'team-a', key: KEY_A, ...(extra.key ?? {}) }, { id: 'team-b', key: KEY_B }],
      plugins: [],
    },
    { setup: (_h, gw) => ensureAnthropicEntry(gw) },
  );
  t.teardown(async () => { await gw.close(); for (const u of ups) await u.close(); });
  const send = (key: string, body: object = chat(), path = '/chat/completions') => post(`${gw.baseURL}${path}`, body, { authorization: `Bearer ${key}` });
  return { gw, ups, send };
}

t.test('per-key rpm: the request over the limit is 429 with Retry-After and x-ratelimit-* headers, before any upstream call', async (t) => {
  const { ups, send } = await limited(t, { key: { rate_limit: { rpm: 2 } } });
  const r1 = await send(KEY_A);
  t.equal(r1.status, 200);
  t.equal(r1.headers.get('x-ratelimit-limit-requests'), '2');
  t.equal(r1.headers.get('x-ratelimit-remaining-requests'), '1');
  t.match(r1.headers.get('x-ratelimit-reset-requests'), /^\d+(ms|s|m\d+s)$/);
  const r2 = await send(KEY_A);
  t.equal(r2.headers.get('x-ratelimit-remaining-requests'), '0');

  const r3 = await send(KEY_A);
  t.equal(r3.status, 429);
  t.match(r3.json, { error: { code: 'SY_ERR_RATE_LIMITED', type: 'rate_limit_error', message: /key team-a allows 2 requests per minute/ } });
  const retry = Number(r3.headers.get('retry-after'));
  t.ok(retry >= 1 && retry <= 90, `Retry-After in seconds (${retry})`);
  t.equal(r3.headers.get('x-ratelimit-limit-requests'), '2');
  t.equal(r3.headers.get('x-ratelimit-remaining-requests'), '0');
  t.ok(r3.headers.get('x-ratelimit-reset-requests'));
  t.equal(ups[0].seen.length, 2, 'the refused request never reached the upstream');

  // Another key is not affected; the Anthropic entry answers in its own shape.
  t.equal((await send(KEY_B)).status, 200);
  const a = await send(KEY_A, { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, '/messages');
  t.equal(a.status, 429);
  t.match(a.json, { type: 'error', error: { type: 'rate_limit_error', code: 'SY_ERR_RATE_LIMITED' } });

  // The OpenAI SDK surfaces it as a RateLimitError (and would honour Retry-After).
  const sdk = new OpenAI({ baseURL: (await limited(t, { key: { rate_limit: { rpm: 1 } } })).gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
  await sdk.chat.completions.create(chat() as never);
  const err = await sdk.chat.completions.create(chat() as never).catch((e: unknown) => e);
  t.type(err, OpenAI.RateLimitError);
});

t.test('per-route rpm is shared by every key', async (t) => {
  const { ups, send } = await limited(t, { route: { rate_limit: { rpm: 3 } } });
  t.equal((await send(KEY_A)).status, 200);
  t.equal((await send(KEY_B)).status, 200);
  t.equal((await send(KEY_A)).status, 200);
  const r = await send(KEY_B);
  t.equal(r.status, 429);
  t.match(r.json, { error: { message: /route m allows 3 requests per minute/ } });
  t.equal(ups[0].seen.length, 3);
});

t.test('tpm: estimated at admission (input estimate + max_tokens), settled from real usage afterwards', async (t) => {
  // Each request: ~1 input token + max_tokens 80 = 81 estimated; the upstream reports 15 used.
  const { ups, send } = await limited(t, { key: { rate_limit: { tpm: 100 } } });
  const body = chat('hi', { max_tokens: 80 });
  const r1 = await send(KEY_A, body);
  t.equal(r1.status, 200);
  t.equal(r1.headers.get('x-ratelimit-limit-tokens'), '100');
  t.equal(r1.headers.get('x-ratelimit-remaining-tokens'), '19', 'the estimate (81) is charged at admission');
  await sleep(50); // settlement runs just after the response
  const r2 = await send(KEY_A, body);
  t.equal(r2.status, 200, 'admitted because the first request was settled down to its real 15 tokens');
  t.equal(r2.headers.get('x-ratelimit-remaining-tokens'), '4', '100 - 15 - 81');
  await sleep(50);
  const r3 = await send(KEY_A, body);
  t.equal(r3.status, 429, '15 + 15 + 81 > 100');
  t.match(r3.json, { error: { message: /allows 100 tokens per minute/ } });
  t.equal(r3.headers.get('x-ratelimit-limit-tokens'), '100');
  t.ok(Number(r3.headers.get('retry-after')) >= 1);
  // A small request still fits.
  t.equal((await send(KEY_A, chat('hi', { max_tokens: 10 }))).status, 200);
  // A request that can never fit says so and tells SDKs not to retry.
  const huge = await send(KEY_A, chat('hi', { max_tokens: 5000 }));
  t.equal(huge.status, 429);
  t.match(huge.json, { error: { message: /request too large/ } });
  t.equal(huge.headers.get('x-should-retry'), 'false');
  t.equal(ups[0].seen.length, 3);
});

t.test('junk max_tokens cannot game the token estimate', async (t) => {
  const { send } = await limited(t, { key: { rate_limit: { tpm: 100 } } });
  // Negative or non-number max_tokens count as no allowance, never as a refund.
  for (const max of [-1e9, '1000', null]) {
    const r = await send(KEY_A, chat('hi', { max_tokens: max }));
    t.ok(r.status < 500, `max_tokens ${JSON.stringify(max)} → ${r.status}`);
    t.ok(Number(r.headers.get('x-ratelimit-remaining-tokens') ?? 100) <= 100);
  }
  // 1e999 parses as Infinity: capped, refused as too large.
  const inf = await post(`${(await limited(t, { key: { rate_limit: { tpm: 100 } } })).gw.baseURL}/chat/completions`, '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1e999}', { authorization: `Bearer ${KEY_A}` });
  t.equal(inf.status, 429);
});

t.test('target rate_limit: an exhausted target is skipped for the next one; all exhausted is a 429', async (t) => {
  const { ups, send } = await limited(t, {
    upstreams: 2,
    targets: [{ provider: 'p1', model: 'up-1', rate_limit: { rpm: 1 } }, { provider: 'p2', model: 'up-2', rate_limit: { rpm: 1 } }],
  });
  const r1 = await send(KEY_A);
  t.equal(r1.headers.get('x-switchyard-provider'), 'p1');
  const r2 = await send(KEY_A);
  t.equal(r2.status, 200);
  t.equal(r2.headers.get('x-switchyard-provider'), 'p2', 'p1 is at its rpm: skipped to p2');
  t.equal(r2.headers.get('x-switchyard-attempts'), '1', 'the skip is not an upstream attempt');
  const r3 = await send(KEY_A);
  t.equal(r3.status, 429, 'every target at its limit');
  t.ok(Number(r3.headers.get('retry-after')) >= 1);
  t.match(r3.json, { error: { message: /rate_limited: target .* skipped/ } });
  t.equal(ups[0].seen.length, 1);
  t.equal(ups[1].seen.length, 1);
});

t.test('sliding window math', async (t) => {
  const store = new MemoryCounterStore();
  const base = 1_000 * WINDOW_MS; // the start of a window
  const take = (at: number, amount = 1) => store.take([{ bucket: 'b', limit: 4, amount }], base + at);
  for (let i = 0; i < 4; i++) t.equal((await take(1000)).allowed, true);
  t.equal((await take(1000)).allowed, false, 'the fifth in the same minute is refused');
  // Half way into the next window, half of the previous window still counts: 4 × 0.5 = 2.
  t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, true);
  t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, true);
  t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, false, '2 + 2 = 4 used');
  t.equal(slidingCount(2, 4, WINDOW_MS / 2), 4);
  // Refused takes charge nothing, and multi-bucket takes are all or nothing.
  const multi = await store.take([{ bucket: 'x', limit: 10, amount: 1 }, { bucket: 'b', limit: 4, amount: 1 }], base + WINDOW_MS + WINDOW_MS / 2);
  t.equal(multi.allowed, false);
  t.equal((await store.take([{ bucket: 'x', limit: 1, amount: 1 }], base + WINDOW_MS + WINDOW_MS / 2)).allowed, true, 'x was not charged by the refused take');
  // msUntilFits: when exactly the next unit fits.
  t.equal(msUntilFits(0, 0, 0, 4, 1), 0);
  t.equal(msUntilFits(4, 0, 1000, 4, 1), WINDOW_MS - 1000 + WINDOW_MS / 4, 'next window, once a quarter of the 4 has slid out');
  t.equal(msUntilFits(0, 4, 0, 4, 1), WINDOW_MS / 4);
  t.equal(msUntilFits(0, 0, 0, 4, 5), Infinity, 'never fits');
  // Settlement adjusts the window it was charged in.
  await store.take([{ bucket: 'tok', limit: 100, amount: 81 }], base);
  await store.adjust('tok', base / WINDOW_MS, -66);
  t.equal((await store.take([{ bucket: 'tok', limit: 100, amount: 85 }], base)).allowed, true, '15 + 85 = 100');
});
