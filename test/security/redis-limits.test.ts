import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { RedisCounterStore } from '../../core/access/redis-counters.js';
import { WINDOW_MS } from '../../core/access/counters.js';
import { chat, post, until } from '../helpers/security.js';

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const KEY = 'ck-shared-0123456789abcdef';

async function redisUp(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function cleanup(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await r.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await r.quit();
}

t.test('Redis counters', { skip: (await redisUp()) ? false : `no Redis at ${REDIS_URL}` }, async (t) => {
  const prefix = `switchyard-test:${randomUUID()}:`;
  t.teardown(() => cleanup(prefix));

  t.test('two replicas sharing Redis share one key limit and one budget', async (t) => {
    const up = await startFakeUpstream(ok());
    const config = {
      providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
      routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x', price: { input: 1000, output: 2000 } }] }],
      keys: [{ id: 'shared', key: KEY, rate_limit: { rpm: 3 } }, { id: 'spender', key: `${KEY}-spend`, budget: { usd: 0.03, period: 'day' } }],
      limits: { store: 'redis', redis_url: REDIS_URL, prefix },
      plugins: [],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    t.teardown(async () => { await a.close(); await b.close(); await up.close(); });
    // Disconnected stores fail open (and log it); wait until both replicas are connected.
    await (a.gw.security.counters as RedisCounterStore).ready();
    await (b.gw.security.counters as RedisCounterStore).ready();
    const send = (gw: typeof a, key = KEY) => post(`${gw.baseURL}/chat/completions`, chat(), { authorization: `Bearer ${key}` });

    t.equal((await send(a)).status, 200);
    t.equal((await send(b)).status, 200);
    const third = await send(a);
    t.equal(third.status, 200);
    t.equal(third.headers.get('x-ratelimit-remaining-requests'), '0', 'replica a sees the request b admitted');
    const fourth = await send(b);
    t.equal(fourth.status, 429, 'the fourth request is refused by the other replica');
    t.equal(up.seen.length, 3);

    // Budget: each request costs 10 × 1000/1M + 5 × 2000/1M = $0.02; the budget is $0.03.
    t.equal((await send(a, `${KEY}-spend`)).status, 200);
    const store = a.gw.security.counters as RedisCounterStore;
    const key = `budget:spender:day:${new Date().toISOString().slice(0, 10)}`;
    t.ok(await until(async () => (await store.getTotal(key)) > 0.019), 'spend recorded in Redis');
    t.equal((await send(b, `${KEY}-spend`)).status, 200, '$0.02 < $0.03: still admitted');
    t.ok(await until(async () => (await store.getTotal(key)) > 0.039));
    const refused = await send(a, `${KEY}-spend`);
    t.equal(refused.status, 402, 'spend recorded through b exhausts the budget on a');
    t.match(refused.json, { error: { code: 'SY_ERR_BUDGET_EXCEEDED', message: /budget/ } });
  });

  t.test('the Redis store behaves like the memory store', async (t) => {
    const store = new RedisCounterStore({ url: REDIS_URL, prefix });
    t.teardown(() => store.close());
    await store.ready();
    const base = 2_000 * WINDOW_MS;
    const take = (at: number, amount = 1, bucket = 'b') => store.take([{ bucket, limit: 4, amount }], base + at);
    for (let i = 0; i < 4; i++) t.equal((await take(1000)).allowed, true);
    const refused = await take(1000);
    t.equal(refused.allowed, false);
    t.equal(refused.buckets[0].curr, 4);
    t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, true, 'half of the previous window has slid out');
    t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, true);
    t.equal((await take(WINDOW_MS + WINDOW_MS / 2)).allowed, false);
    // All or nothing across buckets.
    const multi = await store.take([{ bucket: 'x', limit: 10, amount: 1 }, { bucket: 'b', limit: 4, amount: 1 }], base + WINDOW_MS + WINDOW_MS / 2);
    t.equal(multi.allowed, false);
    t.equal((await store.take([{ bucket: 'x', limit: 1, amount: 1 }], base + WINDOW_MS + WINDOW_MS / 2)).allowed, true);
    // Settlement.
    await store.take([{ bucket: 'tok', limit: 100, amount: 81 }], base);
    await store.adjust('tok', base / WINDOW_MS, -66);
    t.equal((await store.take([{ bucket: 'tok', limit: 100, amount: 85 }], base)).allowed, true);
    // Totals with expiry.
    t.equal(await store.addTotal('spend', 0.25, Date.now() + 60_000), 0.25);
    t.equal(await store.addTotal('spend', 0.5, Date.now() + 60_000), 0.75);
    t.equal(await store.getTotal('spend'), 0.75);
    t.equal(await store.getTotal('nothing'), 0);
  });
});

t.test('Redis down: limits fail open (requests are served, fast) and the outage is logged, once', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
    routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }],
    keys: [{ id: 'k', key: KEY, rate_limit: { rpm: 1 }, budget: { usd: 1, period: 'day' } }],
    limits: { store: 'redis', redis_url: 'redis://127.0.0.1:1', prefix: 'unused:' },
    plugins: [],
  });
  t.teardown(async () => { await gw.close(); await up.close(); });
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const r = await post(`${gw.baseURL}/chat/completions`, chat(), { authorization: `Bearer ${KEY}` });
    t.equal(r.status, 200);
    t.ok(Date.now() - t0 < 1000, 'not queued behind reconnects');
  }
  t.equal(gw.logs.filter((l) => /limit store failed/.test(String(l.msg))).length, 1, 'one error line per 10 s, not one per request');
});
