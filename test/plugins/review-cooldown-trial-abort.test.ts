import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, hang, stream, type Behaviour, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, routeOver, chatStreamUntilEnd } from '../helpers/gateway.js';
import type { PluginDefinition } from '../../sdk/plugin.js';

/**
 * The half-open trial of the cooldown plugin: a request that ended without a verdict on the
 * target it held the trial for (client gone, deadline, a request-level 4xx, a lost hedge, a
 * plan served by another target) hands the trial back, so the next request may try the target
 * at once instead of the target staying out of rotation until the trial expires.
 *
 * Each test cools target a with a 429 asking for 1 s (the shortest cooldown), waits for it to
 * pass, and then looks at what the request holding the trial leaves behind.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Poll until `cond` holds (no deadline of its own: tap's test timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(5);
}
const tooMany = fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
const after = (ms: number, b: Behaviour): Behaviour => async (s, res, req) => {
  await sleep(ms);
  if (!res.destroyed) await b(s, res, req);
};
const hedge = (afterMs: number): PluginDefinition<unknown> => ({ name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: afterMs }) } }) as PluginDefinition<unknown>;

function clientOf(baseURL: string) {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  const ask = async (signal?: AbortSignal) => (await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal })).choices[0].message.content;
  return { client, ask };
}

/** Cool `a` (first target) with a 429 for 1 s through one request served by `served`, then let the cooldown pass. */
async function coolFirstTarget(t: Test, ask: () => Promise<string | null>, served: string): Promise<void> {
  t.equal(await ask(), served, 'the 429 fell back');
  await sleep(1100);
}

/** The upstream call the gateway made for the request at `index` was closed, and the request's postResponse ran. */
async function settled(up: FakeUpstream, index: number): Promise<void> {
  await until(() => up.seen.length > index);
  await up.seen[index]!.closed;
  await sleep(50); // postResponse runs after the response
}

t.test('a trial whose client disconnected before the upstream answered is released: the next request tries the target', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, hang());
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  const ac = new AbortController();
  const trial = ask(ac.signal).catch((e: unknown) => e);
  await until(() => a.seen.length === 2);
  ac.abort();
  t.type(await trial, Error, 'the client gave up on the trial');
  await settled(a, 1);

  t.equal(await ask(), 'from a', 'the next request holds a new trial of a (no wait for a stale trial to expire)');
  t.equal(await ask(), 'from a', 'which closed the circuit');
  t.equal(b.seen.length, 1, 'b served only the 429 fallback');
});

t.test('a trial cut by the request deadline before the upstream answered is released', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, hang());
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0, deadline_ms: 300, timeout_ms: 10_000 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  const err = await ask().catch((e: unknown) => e);
  t.type(err, OpenAI.APIError);
  t.equal((err as InstanceType<typeof OpenAI.APIError>).status, 504, 'the deadline ended the trial request');
  await settled(a, 1);

  t.equal(await ask(), 'from a', 'the next request tries a');
});

t.test('a trial answered with a request-level 400 is released: it says nothing about the target', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, fail(400, { error: { message: 'Invalid value for temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  const err = await ask().catch((e: unknown) => e);
  t.type(err, OpenAI.BadRequestError, 'the upstream 400 is returned as is');
  await sleep(50);

  t.equal(await ask(), 'from a', 'the next request tries a');
});

t.test('a hedged trial that lost the race to the other target is released', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  // The trial answers late: b, hedged after 30 ms, wins and a is cancelled.
  a.queue(tooMany, after(2000, ok('late a')));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }), { plugins: [hedge(30)] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { client, ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(data.choices[0].message.content, 'from b', 'the hedge won');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'hedged');
  await settled(a, 1);

  t.equal(await ask(), 'from a', 'the next request tries a');
});

t.test('a hedged pair the client walked away from is no failure of its targets: the trial is released, not reopened', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, hang());
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }), { plugins: [hedge(30)] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { ask } = clientOf(gw.baseURL);
  // The 429 is answered before the hedge is due: plain fallback to b.
  await coolFirstTarget(t, ask, 'from b');

  b.queue(hang());
  const ac = new AbortController();
  const trial = ask(ac.signal).catch((e: unknown) => e);
  await until(() => a.seen.length === 2 && b.seen.length === 2); // both hedged attempts are in flight
  ac.abort();
  t.type(await trial, Error, 'the client gave up');
  await settled(a, 1);
  await settled(b, 1);

  t.equal(await ask(), 'from a', 'a is tried again, not cooled for longer');
});

t.test('a half-open target listed by a request that another target is serving (a long stream) is free for the next request that needs it: trials are claimed in beforeAttempt, for the target tried', async (t) => {
  const x = await startFakeUpstream(ok('from x'));
  const a = await startFakeUpstream(ok('from a'));
  // Cool a (second in the plan): x fails, a answers 429.
  x.queue(fail(500));
  a.queue(tooMany);
  const gw = await startGateway(routeOver([x.url, a.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await x.close(); await a.close(); });
  const { client, ask } = clientOf(gw.baseURL);
  t.equal(((await ask().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>).status, 429, 'x failed, a cooled');
  await sleep(1100);

  // Request 1 claims a's trial but is served by x: a stream that stays open.
  x.queue(stream(['Hel', 'lo'], { stallAfter: 1 }));
  const ac1 = new AbortController();
  const s1 = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ac1.signal });
  const it1 = s1[Symbol.asyncIterator]();
  await it1.next(); // content flows from x
  t.equal(a.seen.length, 1, 'request 1 never tried a');

  // Request 2: x fails, so it needs a, which request 1 will never try.
  x.queue(fail(500));
  a.queue(hang());
  const ac2 = new AbortController();
  let r2done = false;
  const r2 = ask(ac2.signal).catch((e: unknown) => e).finally(() => (r2done = true));
  await until(() => a.seen.length === 2 || r2done);
  t.equal(a.seen.length, 2, 'request 2 fell back to a: request 1 never tried a, so it held no trial of it');
  if (r2done) t.fail(`request 2 was answered without a: ${String(await r2)}`);

  // Request 1 ends while request 2 still holds the trial of a: that must not release it.
  ac1.abort();
  await x.seen[1]!.closed;
  await sleep(50);
  x.queue(fail(500));
  const err3 = await ask().catch((e: unknown) => e);
  t.equal((err3 as InstanceType<typeof OpenAI.APIError>).status, 502, 'request 3: a is still held by request 2\'s trial, so x\'s 500 is the answer');
  t.equal(a.seen.length, 2, 'one trial of a at a time');

  ac2.abort();
  await r2;
});

t.test('a stream cut by the request deadline after content flowed is no failure of the target', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, stream(['Hel', 'lo'], { stallAfter: 1 }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0, deadline_ms: 400 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  // The trial streams content, then the gateway's own deadline ends the stream.
  const { text, error: end } = await chatStreamUntilEnd(gw.baseURL);
  t.equal(text, 'Hel', 'content flowed from a');
  t.ok(end, 'the stream ended with the deadline error event');
  await settled(a, 1);

  t.equal(await ask(), 'from a', 'a is not cooled for the gateway\'s own deadline');
});

t.test('cooldown trial_timeout_ms bounds how long a trial that has not reported back holds the target', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(tooMany, hang());
  t.teardown(async () => { await a.close(); await b.close(); });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: ['health', { name: 'cooldown', config: { trial_timeout_ms: 300 } }] });
  t.teardown(() => gw.close());
  const { ask } = clientOf(gw.baseURL);
  await coolFirstTarget(t, ask, 'from b');

  const ac = new AbortController();
  const stuck = ask(ac.signal).catch((e: unknown) => e);
  await until(() => a.seen.length === 2);
  t.equal(await ask(), 'from b', 'while the trial is in flight a is held');
  await sleep(350);
  t.equal(await ask(), 'from a', 'past trial_timeout_ms the trial is presumed lost and another request may try a');
  ac.abort();
  await stuck;
});
