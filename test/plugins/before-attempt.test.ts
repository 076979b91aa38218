import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, hang, stream, latch, held, type Behaviour } from '../helpers/fake-upstream.js';
import { sleep } from '../helpers/security.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { definePlugin, type PluginDefinition } from '../../sdk/plugin.js';
import { MemoryStateStore } from '../../core/state/store.js';

/**
 * The beforeAttempt hook: runs just before each attempt on a target and may skip it. And the
 * cooldown plugin on it: a half-open trial is claimed only by the request that tries the target.
 */

/** Poll until `cond` holds (no deadline of its own: tap's test timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(5);
}
const tooMany = fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
const post = (baseURL: string) => fetch(`${baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
function clientOf(baseURL: string) {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  const ask = async (signal?: AbortSignal) => (await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal })).choices[0].message.content;
  return { client, ask };
}
const statusOf = (e: unknown) => (e as InstanceType<typeof OpenAI.APIError>).status;

t.test('a community plugin\'s beforeAttempt skips a target: the next one serves and the skipped upstream sees nothing', async (t) => {
  for (const kind of ['sync', 'async'] as const) {
    const a = await startFakeUpstream(ok('from a'));
    const b = await startFakeUpstream(ok('from b'));
    const skip = (provider: string) => (kind === 'sync' ? { skip: `no ${provider} today` } : Promise.resolve({ skip: `no ${provider} today` }));
    const skipP1 = definePlugin({ name: 'skip-p1', version: '1.0.0', hooks: { beforeAttempt: (_ctx, target) => (target.provider.id === 'p1' ? skip('p1') : undefined) } });
    const gw = await startGateway({ ...routeOver([a.url, b.url]), plugins: [] }, { plugins: [skipP1] });
    t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });

    const { data, response } = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse();
    t.equal(data.choices[0].message.content, 'from b', `${kind}: the second target served`);
    t.equal(response.headers.get('x-switchyard-provider'), 'p2', kind);
    t.equal(response.headers.get('x-switchyard-attempts'), '1', `${kind}: the skip spent no attempt`);
    t.equal(a.seen.length, 0, `${kind}: the skipped upstream received nothing`);
  }

  // Every target skipped: a gateway error in the entry protocol's shape, naming the plugin and its reason.
  const a = await startFakeUpstream(ok('from a'));
  const none = definePlugin({ name: 'closed-shop', version: '1.0.0', hooks: { beforeAttempt: () => ({ skip: 'maintenance window' }) } });
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [none] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await post(gw.baseURL);
  t.equal(res.status, 503);
  t.equal(res.headers.get('x-should-retry'), 'false');
  t.ok(res.headers.get('retry-after'), 'with Retry-After');
  const body = await res.json() as { error: { code: string; message: string; type: string } };
  t.match(body, { error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED', type: 'api_error', message: /skipped by plugin closed-shop: maintenance window/ } });
  t.equal(a.seen.length, 0);
});

t.test('beforeAttempt runs once per attempt: first try, a retry of the same target, the fallback, both halves of a hedge', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const calls: string[] = [];
  const counter = definePlugin({ name: 'counter', version: '1.0.0', hooks: { beforeAttempt: (_ctx, target) => void calls.push(target.provider.id) } });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 1 }), plugins: [] }, { plugins: [counter] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });

  a.queue(fail(500), fail(500));
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [] }).withResponse();
  t.equal(data.choices[0].message.content, 'from b');
  t.equal(response.headers.get('x-switchyard-attempts'), '3', 'a, a again, b');
  t.same(calls, ['p1', 'p1', 'p2'], 'one call per attempt, the retry included');

  // Hedged: a never answers, b is started after 30 ms and wins.
  const hedge = { name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: 30 }) } } as PluginDefinition<unknown>;
  const hedgedCalls: string[] = [];
  const counter2 = definePlugin({ name: 'counter', version: '1.0.0', hooks: { beforeAttempt: (_ctx, target) => void hedgedCalls.push(target.provider.id) } });
  const gw2 = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: [] }, { plugins: [hedge, counter2] });
  t.teardown(() => gw2.close());
  a.queue(hang());
  const h = await new OpenAI({ baseURL: gw2.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse();
  t.equal(h.response.headers.get('x-switchyard-route-mode'), 'hedged');
  t.same(hedgedCalls, ['p1', 'p2'], 'each half of the hedged pair passed beforeAttempt');
});

t.test('a throwing beforeAttempt is logged and ignored, unless its plugin is critical', async (t) => {
  for (const kind of ['throws', 'rejects'] as const) {
    const a = await startFakeUpstream(ok('from a'));
    const boom = () => {
      if (kind === 'throws') throw new Error('boom');
      return Promise.reject(new Error('boom'));
    };
    const broken = definePlugin({ name: 'broken', version: '1.0.0', hooks: { beforeAttempt: boom } });
    const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [broken] });
    t.teardown(async () => { await gw.close(); await a.close(); });
    const { ask } = clientOf(gw.baseURL);
    t.equal(await ask(), 'from a', `${kind}: the request is served`);
    t.equal(gw.gw.hookErrors, 1, `${kind}: counted`);
    t.ok(gw.logs.some((l) => l.plugin === 'broken' && l.phase === 'beforeAttempt' && l.msg === 'plugin hook failed'), `${kind}: logged with its phase`);

    const critical = definePlugin({ name: 'broken', version: '1.0.0', critical: true, hooks: { beforeAttempt: boom } });
    const gwc = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [critical] });
    t.teardown(() => gwc.close());
    const res = await post(gwc.baseURL);
    t.equal(res.status, 500, `${kind}, critical: the request fails`);
    t.match(await res.json(), { error: { code: 'SY_ERR_PLUGIN' } });
    t.equal(a.seen.length, 1, `${kind}, critical: the target was not tried`);
  }
});

t.test('a critical beforeAttempt failing on the hedge fails the request and cancels the first half', async (t) => {
  const a = await startFakeUpstream(hang());
  const b = await startFakeUpstream(ok('from b'));
  const hedge = { name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: 30 }) } } as PluginDefinition<unknown>;
  const broken = definePlugin({ name: 'broken', version: '1.0.0', critical: true, hooks: { beforeAttempt: (_ctx, target) => { if (target.provider.id === 'p2') throw new Error('boom'); } } });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: [] }, { plugins: [hedge, broken] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await post(gw.baseURL);
  t.equal(res.status, 500);
  t.match(await res.json(), { error: { code: 'SY_ERR_PLUGIN' } });
  await a.seen[0]!.closed;
  t.pass('the first half\'s upstream call was closed');
  t.equal(b.seen.length, 0, 'the hedge was not made');
});

/**
 * Cooldown: target a, second in the plan [x, a], is cooled by a 429 asking for 1 s; once that
 * passes a is half-open. The old plugin claimed a's trial in selectProvider for every request
 * whose plan listed a, so a request still busy on x blocked everyone else from trying a.
 */
async function coolSecondTarget(t: Test, x: { queue(...b: Behaviour[]): void }, a: { queue(...b: Behaviour[]): void }, baseURL: string, xFails = fail(500)): Promise<void> {
  x.queue(xFails);
  a.queue(tooMany);
  t.equal(statusOf(await clientOf(baseURL).ask().catch((e: unknown) => e)), 429, 'x failed, a answered 429 and cooled');
  await sleep(1100);
}

/** Upstreams x and a behind one gateway (route [x, a], no retries), a cooled by a 429 and half-open again. */
async function halfOpenPair(t: Test, route: Record<string, unknown> = {}, xFails = fail(500)) {
  const x = await startFakeUpstream(ok('from x'));
  const a = await startFakeUpstream(ok('from a'));
  const gw = await startGateway(routeOver([x.url, a.url], { retries: 0, ...route }));
  t.teardown(async () => { await gw.close(); await x.close(); await a.close(); });
  await coolSecondTarget(t, x, a, gw.baseURL, xFails);
  return { x, a, gw, ask: clientOf(gw.baseURL).ask };
}

t.test('cooldown: a request whose plan lists a half-open target it has not reached does not hold its trial', async (t) => {
  const { x, a, ask } = await halfOpenPair(t);

  // Request 1 is still waiting on x; request 2's x fails, so it needs a.
  const slow = latch();
  x.queue(held(slow.p, ok('slow x')), fail(500));
  const r1 = ask();
  await until(() => x.seen.length === 2);
  t.equal(await ask(), 'from a', 'request 2 tried a: request 1, busy on x, held no trial of it');
  slow.open();
  t.equal(await r1, 'slow x', 'request 1 was served by x');
  t.equal(a.seen.length, 2, 'a: the 429, then request 2\'s trial');
});

t.test('cooldown: a request that reaches a half-open target whose trial another request took skips it', async (t) => {
  const { x, a, ask } = await halfOpenPair(t);

  // Both requests are planned [x, a] while a's trial is free; each gets a 500 from x when the test says.
  const first = latch();
  const second = latch();
  x.queue(held(first.p, fail(500)), held(second.p, fail(500)));
  a.queue(hang());
  const ac = new AbortController();
  const r1 = ask(ac.signal).catch((e: unknown) => e);
  const r2 = ask().catch((e: unknown) => e);
  await until(() => x.seen.length === 3);
  first.open();
  await until(() => a.seen.length === 2); // request 1 holds a's trial
  second.open();
  t.equal(statusOf(await r2), 502, 'request 2 skipped a: x\'s 500 is its answer');
  t.equal(a.seen.length, 2, 'one trial of a at a time');
  ac.abort();
  await r1;
});

t.test('cooldown: when_all_cooling try_least_bad still tries a half-open target whose trial another request holds', async (t) => {
  // x cooled for 30 s, a for 1 s.
  const { x, a, ask } = await halfOpenPair(t, { when_all_cooling: 'try_least_bad' }, fail(429, undefined, { 'retry-after': '30' }));

  a.queue(hang());
  const ac = new AbortController();
  const r1 = ask(ac.signal).catch((e: unknown) => e);
  await until(() => a.seen.length === 2); // request 1 holds a's trial
  t.equal(await ask(), 'from a', 'everything cools: the least bad target, a, is tried anyway');
  t.equal(x.seen.length, 1, 'x stays out');
  ac.abort();
  await r1;
});

t.test('cooldown: replicas sharing a store: a request served by another target holds no trial the other replica needs', async (t) => {
  const x = await startFakeUpstream(ok('from x'));
  const a = await startFakeUpstream(ok('from a'));
  const store = new MemoryStateStore();
  const gw1 = await startGateway(routeOver([x.url, a.url], { retries: 0 }), { store });
  const gw2 = await startGateway(routeOver([x.url, a.url], { retries: 0 }), { store });
  t.teardown(async () => { await gw1.close(); await gw2.close(); await x.close(); await a.close(); });
  await coolSecondTarget(t, x, a, gw1.baseURL);

  // Replica 1: a long stream from x. Replica 2: x fails, so it needs a.
  x.queue(stream(['Hel', 'lo'], { stallAfter: 1 }), fail(500));
  const ac = new AbortController();
  const s1 = await clientOf(gw1.baseURL).client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ac.signal });
  await s1[Symbol.asyncIterator]().next();
  t.equal(await clientOf(gw2.baseURL).ask(), 'from a', 'replica 2 tried a');
  t.equal(a.seen.length, 2);
  ac.abort();
});
