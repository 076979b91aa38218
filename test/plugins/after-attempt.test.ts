import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, hang, stream, latch, held } from '../helpers/fake-upstream.js';
import { sleep } from '../helpers/security.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { definePlugin, type AttemptEnd, type PluginDefinition } from '../../sdk/plugin.js';

/**
 * The afterAttempt hook answers every target beforeAttempt ran on, once the gateway is done with
 * it; the cooldown plugin gives a half-open trial back there, per attempt, instead of when the
 * whole request ends. Also: a target's rate limit is charged only once the hooks let it through.
 */

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(5);
}
const hedgeAt = (ms: number) => ({ name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: ms }) } }) as PluginDefinition<unknown>;
const ADMIN = 'admin-token-0123456789abcdef';

/** A plugin that writes down every beforeAttempt and afterAttempt call, and every onError. */
function recorder(skip?: (provider: string) => string | undefined) {
  const calls: string[] = [];
  const plugin = definePlugin({
    name: 'recorder',
    version: '1.0.0',
    hooks: {
      beforeAttempt: (_ctx, target) => {
        calls.push(`before ${target.provider.id}`);
        const why = skip?.(target.provider.id);
        return why ? { skip: why } : undefined;
      },
      onError: (_ctx, attempt) => void calls.push(`onError ${attempt.provider} ${attempt.status}`),
      afterAttempt: (_ctx, target, result: AttemptEnd, attempt) => {
        // A record exactly when an attempt was made, and it is the attempt on that target.
        const fits = attempt === null ? result === 'skipped' : result !== 'skipped' && attempt.target === target.id;
        calls.push(`after ${target.provider.id} ${result}${fits ? '' : ' (with the wrong record)'}`);
      },
    },
  });
  return { calls, plugin };
}

const ask = (baseURL: string, signal?: AbortSignal) =>
  new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal }).then((r) => r.choices[0].message.content);

t.test('afterAttempt answers each attempt: failed after onError, answered, skipped (with no record)', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const c = await startFakeUpstream(ok('from c'));
  const { calls, plugin } = recorder((p) => (p === 'p2' ? 'not p2' : undefined));
  const gw = await startGateway({ ...routeOver([a.url, b.url, c.url], { retries: 1 }), plugins: [] }, { plugins: [plugin] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close(); });

  a.queue(fail(500), fail(500));
  t.equal(await ask(gw.baseURL), 'from c');
  t.same(calls, [
    'before p1', 'onError p1 500', 'after p1 failed',
    'before p1', 'onError p1 500', 'after p1 failed',
    'before p2', 'after p2 skipped',
    'before p3', 'after p3 answered',
  ]);
});

t.test('afterAttempt on a hedge: the loser cut by the winner is cancelled; a loser that failed on its own gets onError first', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const { calls, plugin } = recorder();
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: [] }, { plugins: [hedgeAt(30), plugin] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });

  a.queue(hang());
  t.equal(await ask(gw.baseURL), 'from b');
  t.same(calls, ['before p1', 'before p2', 'after p1 cancelled', 'after p2 answered'], 'the loser says nothing about a: no onError');

  // a fails (500) while b is still working; b then answers. a's failure is real: plugins hear it.
  calls.length = 0;
  const aGate = latch();
  const bGate = latch();
  const aSent = latch();
  a.queue(held(aGate.p, async (s, res, req) => { await fail(500)(s, res, req); aSent.open(); }));
  b.queue(held(bGate.p, ok('from b, late')));
  const r = ask(gw.baseURL);
  await until(() => b.seen.length === 2);
  aGate.open();
  await aSent.p;
  await sleep(20); // a's 500 reaches the gateway before b answers
  bGate.open();
  t.equal(await r, 'from b, late');
  t.same(calls, ['before p1', 'before p2', 'onError p1 500', 'after p1 failed', 'after p2 answered']);
});

t.test('afterAttempt: an attempt cut because the client left is cancelled', async (t) => {
  const a = await startFakeUpstream(hang());
  const { calls, plugin } = recorder();
  const gw = await startGateway({ ...routeOver([a.url], { retries: 0 }), plugins: [] }, { plugins: [plugin] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const ac = new AbortController();
  const r = ask(gw.baseURL, ac.signal).catch((e: unknown) => e);
  await until(() => a.seen.length === 1);
  ac.abort();
  await r;
  await until(() => calls.length === 2);
  t.same(calls, ['before p1', 'after p1 cancelled']);
});

t.test('a throwing or rejecting afterAttempt is logged and counted; the request is served even when the plugin is critical', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const broken = definePlugin({ name: 'broken', version: '1.0.0', critical: true, hooks: { afterAttempt: (_ctx, target) => (target.provider.id === 'p1' ? Promise.reject(new Error('late boom')) : undefined) } });
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [broken] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  t.equal(await ask(gw.baseURL), 'from a');
  await until(() => gw.gw.hookErrors === 1);
  t.ok(gw.logs.some((l) => l.plugin === 'broken' && l.phase === 'afterAttempt'), 'logged with its phase');
});

t.test('a target a plugin skips spends none of its rate limit; one the limit refuses is skipped for afterAttempt too', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  let skipA = true;
  const { calls, plugin } = recorder((p) => (p === 'p1' && skipA ? 'not now' : undefined));
  const KEY = 'sk-client-key-0123456789';
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: a.url }, { id: 'p2', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', retries: 0, targets: [{ provider: 'p1', model: 'up-1', rate_limit: { rpm: 1 } }, { provider: 'p2', model: 'up-2' }] }],
    keys: [{ id: 'team', key: KEY }],
    plugins: [],
  }, { plugins: [plugin] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
  const send = async () => (await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content;

  t.equal(await send(), 'from b', 'the plugin skipped a');
  skipA = false;
  t.equal(await send(), 'from a', 'a\'s one request a minute was still there: the skip spent none of it');
  calls.length = 0;
  t.equal(await send(), 'from b', 'now a is at its limit');
  t.same(calls, ['before p1', 'after p1 skipped', 'before p2', 'after p2 answered'], 'the limit\'s refusal is a skip the hooks hear');
  t.equal(a.seen.length, 1);
});

/** Route [a, b], no retries, with the built-in plugins: a cooled by a 429 asking for 1 s, half-open again. */
async function halfOpenFirst(t: Test, extra: PluginDefinition<unknown>[] = []) {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), admin: { token: ADMIN } }, { plugins: extra });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  a.queue(fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '1' }));
  t.equal(await ask(gw.baseURL), 'from b', 'a answered 429 and cooled; b served');
  await sleep(1100);
  const cooldownOf = async () => {
    const r = await (await fetch(`${gw.url}/admin/api/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { targets: { provider: string; cooldown: { state: string; coolingDown: boolean } }[] };
    return r.targets.find((x) => x.provider === 'p1')!.cooldown;
  };
  return { a, b, gw, cooldownOf };
}

t.test('cooldown: a trial that loses a hedge race is given back at once, while the winner still streams', async (t) => {
  const { a, b, gw } = await halfOpenFirst(t, [hedgeAt(30)]);
  // Request 1: a's trial hangs, the hedge on b wins and streams on (stalled after one chunk).
  a.queue(hang(), ok('a, second trial'));
  b.queue(stream(['Hel', 'lo'], { stallAfter: 1 }));
  const ac = new AbortController();
  const s = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ac.signal });
  await s[Symbol.asyncIterator]().next();
  t.equal(a.seen.length, 2, 'request 1 tried a (its trial) and lost the race');
  // Request 2 while request 1 is still streaming: a's trial is free again.
  t.equal(await ask(gw.baseURL), 'a, second trial', 'request 2 got the trial of a');
  ac.abort();
});

t.test('cooldown: a half-open trial whose client left mid-stream gives no verdict: the circuit stays half-open, the trial free', async (t) => {
  const { a, gw, cooldownOf } = await halfOpenFirst(t);
  a.queue(stream(['Hel', 'lo'], { stallAfter: 1 }));
  const ac = new AbortController();
  const s = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ac.signal });
  await s[Symbol.asyncIterator]().next();
  ac.abort();
  await a.seen[1]!.closed;
  // While the trial is held the circuit reads half-open and cooling; the request's end settles it.
  let c = await cooldownOf();
  while (c.state === 'half_open' && c.coolingDown) c = (await sleep(10), await cooldownOf());
  t.match(c, { state: 'half_open', coolingDown: false }, 'not closed by a stream the client gave up on; the next request may try a');
  a.queue(ok('a, trial again'));
  t.equal(await ask(gw.baseURL), 'a, trial again');
  t.match(await cooldownOf(), { state: 'closed' }, 'a real answer closes it');
});
