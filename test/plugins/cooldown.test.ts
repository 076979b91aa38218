import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

const ADMIN = 'admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a 429 burst moves traffic to the next target, which keeps it until the window clears', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  // a: one 429 asking for a 3 s pause.
  a.queue(fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '3' }));
  const gw = await startGateway({ ...routeOver([a.url, b.url]), admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

  const first = await ask();
  t.equal(first.data.choices[0].message.content, 'from b', 'the 429 fell back');
  t.equal(first.response.headers.get('x-switchyard-route-mode'), 'model_fallback');
  for (let i = 0; i < 5; i++) {
    const r = await ask();
    t.equal(r.data.choices[0].message.content, 'from b', 'the sick target stays out');
    t.equal(r.response.headers.get('x-switchyard-attempts'), '1', 'without burning an attempt on it');
    t.equal(r.response.headers.get('x-switchyard-route-mode'), 'model_fallback', 'and still shown as a fallback path');
  }
  t.equal(a.seen.length, 1, 'only the one request that got the 429 reached a');

  const providers = await (await fetch(`${gw.url}/admin/api/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { targets: { provider: string; cooldown: { coolingDown: boolean; reason: string; until: string } ; healthScore: number }[] };
  const pa = providers.targets.find((x) => x.provider === 'p1')!;
  t.equal(pa.cooldown.coolingDown, true, 'the admin API shows the cooldown');
  t.equal(pa.cooldown.reason, 'rate_limited');
  t.ok(Date.parse(pa.cooldown.until) > Date.now(), 'and until when');
  t.ok(pa.healthScore < 1, 'health score dropped');

  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  t.match(metrics, /switchyard_cooldown_state\{route="m",target="m#0:p1\/up-model-1",provider="p1"\} 2/);
  t.match(metrics, /switchyard_failovers_total\{route="m",reason="rate_limited",provider="p1"\} 1/);
  t.match(metrics, /switchyard_requests_total\{route="m",mode="model_fallback",provider="p2",status="2xx"\} 6/);

  const log = await (await fetch(`${gw.url}/admin/api/requests?mode=model_fallback`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { data: { route_mode: string; provider: string; attempts: { errorClass: string | null; provider: string }[] }[] };
  t.equal(log.data.length, 6, 'the request log holds the failover and the requests served around the cooling target');
  t.match(log.data[log.data.length - 1], { route_mode: 'model_fallback', provider: 'p2', attempts: [{ provider: 'p1', errorClass: 'rate_limited' }, { provider: 'p2', errorClass: null }] });

  await sleep(Date.parse(pa.cooldown.until) - Date.now() + 50);
  const back = await ask();
  t.equal(back.data.choices[0].message.content, 'from a', 'after the window a trial request goes back to a, and succeeds');
  t.equal(back.response.headers.get('x-switchyard-route-mode'), 'direct');
});

t.test('consecutive server errors trip the breaker; half-open allows one trial', async (t) => {
  const a = await startFakeUpstream(fail(500));
  const b = await startFakeUpstream(ok('b'));
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: ['health', { name: 'cooldown', config: { consecutive_failures: 3, base_ms: 2000 } }] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  for (let i = 0; i < 6; i++) await client.chat.completions.create({ model: 'm', messages: [] });
  t.equal(a.seen.length, 3, 'tripped after 3 consecutive failures');
  await sleep(2050);
  await Promise.all([1, 2, 3].map(() => client.chat.completions.create({ model: 'm', messages: [] })));
  t.equal(a.seen.length, 4, 'half-open: exactly one trial among concurrent requests');
  await client.chat.completions.create({ model: 'm', messages: [] });
  t.equal(a.seen.length, 4, 'the failed trial reopened the circuit');
});

t.test('every target cooling down: 429 with Retry-After, or the least bad one when the route says so', async (t) => {
  const a = await startFakeUpstream(fail(429, undefined, { 'retry-after': '30' }));
  const b = await startFakeUpstream(fail(429, undefined, { 'retry-after': '5' }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const post = () => fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal((await post()).status, 429, 'both failed');
  const res = await post();
  t.equal(res.status, 429);
  t.match(await res.json(), { error: { code: 'SY_ERR_ALL_COOLING_DOWN' } });
  const ra = Number(res.headers.get('retry-after'));
  t.ok(ra >= 4 && ra <= 5, `Retry-After is the soonest window (${ra})`);
  t.equal(a.seen.length + b.seen.length, 2, 'no upstream call while everything cools');

  b.fallback = ok('least bad');
  const gw2 = await startGateway(routeOver([a.url, b.url], { retries: 0, when_all_cooling: 'try_least_bad' }));
  t.teardown(() => gw2.close());
  const p2 = () => fetch(`${gw2.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  b.queue(fail(429, undefined, { 'retry-after': '5' }));
  await p2();
  const r2 = await p2();
  t.equal(r2.status, 200);
  t.match(await r2.json(), { choices: [{ message: { content: 'least bad' } }] });
});
