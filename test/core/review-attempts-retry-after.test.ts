import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, fail } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

/** Gateway-made 429/503 always carry a usable Retry-After; upstream hints are parsed strictly. */

const post = (baseURL: string, body: unknown = { model: 'm', messages: [] }, path = '/chat/completions') =>
  fetch(`${baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const cases = [
  { name: 'rate limited without any reset hint', up: fail(429), status: 429 },
  { name: 'quota exhausted', up: fail(429, { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }), status: 429 },
  { name: 'overloaded (503) without Retry-After', up: fail(503), status: 503 },
  { name: 'overloaded (529) without Retry-After', up: fail(529), status: 503 },
];

for (const c of cases) {
  t.test(`chain exhausted, ${c.name}: ${c.status} with Retry-After and x-should-retry false`, async (t) => {
    const a = await startFakeUpstream(c.up);
    const b = await startFakeUpstream(c.up);
    const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: [] });
    t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
    const res = await post(gw.baseURL);
    t.equal(res.status, c.status);
    t.match(res.headers.get('retry-after'), /^[1-9]\d*$/, 'a Retry-After in whole seconds');
    t.equal(res.headers.get('x-should-retry'), 'false');
    t.match(await res.json(), { error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED' } });
  });
}

t.test('a huge upstream Retry-After never becomes an invalid header', async (t) => {
  const a = await startFakeUpstream(fail(429, undefined, { 'retry-after': '99999999999999999999999' }));
  const gw = await startGateway({ ...routeOver([a.url], { retries: 0 }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await post(gw.baseURL);
  t.equal(res.status, 429);
  const ra = res.headers.get('retry-after') ?? '';
  t.match(ra, /^\d+$/, `delta-seconds, not exponent notation (${ra})`);
  t.ok(Number(ra) <= 86_400, 'capped at a day');
});

t.test('a garbage Retry-After is ignored, not read as "retry now"', async (t) => {
  // V8's Date.parse reads "soon 12" as a 2001 date: the wait came out as 0 and the cooldown
  // plugin cooled the target for its 1 s floor instead of its rate-limit default (10 s).
  for (const garbage of ['soon 12', 'May 2', '-5']) {
    const a = await startFakeUpstream(fail(429, undefined, { 'retry-after': garbage }));
    const gw = await startGateway(routeOver([a.url], { retries: 0 }));
    const first = await post(gw.baseURL);
    t.equal(first.status, 429, `${garbage}: the upstream 429`);
    const second = await post(gw.baseURL);
    const body = await second.json() as { error: { code: string } };
    t.equal(body.error.code, 'SY_ERR_ALL_COOLING_DOWN', `${garbage}: the target is cooling down`);
    t.ok(Number(second.headers.get('retry-after')) > 5, `${garbage}: for the default rate-limit cooldown, not 1 s (got ${second.headers.get('retry-after')})`);
    t.equal(a.seen.length, 1);
    await gw.close();
    await a.close();
  }
});

t.test('an HTTP-date Retry-After is still honoured', async (t) => {
  const at = new Date(Date.now() + 30_000).toUTCString();
  const a = await startFakeUpstream(fail(429, undefined, { 'retry-after': at }));
  const gw = await startGateway({ ...routeOver([a.url], { retries: 0 }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await post(gw.baseURL);
  const ra = Number(res.headers.get('retry-after'));
  t.ok(ra >= 28 && ra <= 31, `about 30 s (${ra})`);
});

t.test('an endpoint no target of the route can serve is a 400, not a retryable 503', async (t) => {
  const gw = await startGateway({
    providers: [{ id: 'claude', kind: 'anthropic', base_url: 'http://127.0.0.1:9' }],
    routes: [{ model: 'm', targets: [{ provider: 'claude', model: 'claude-x' }] }],
    plugins: [],
  });
  t.teardown(() => gw.close());
  let calls = 0;
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 2, fetch: (url, init) => { calls++; return fetch(url, init); } });
  const err = await client.embeddings.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
  t.type(err, OpenAI.BadRequestError);
  t.match((err as InstanceType<typeof OpenAI.APIError>).error, { code: 'SY_ERR_NO_CAPABLE_TARGET', message: /openai\.embeddings/ });
  t.equal(calls, 1, 'the SDK does not retry it');
});
