import t from 'tap';
import { startFakeUpstream, ok, fail } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { GatewayError, type PluginDefinition } from '../../sdk/plugin.js';

/** Responses refused before or between attempts still carry the gateway's headers. */

const post = (baseURL: string, path = '/chat/completions', body: unknown = { model: 'm', messages: [] }) =>
  fetch(`${baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The gateway's own headers on a response, for one t.match. */
const gatewayHeaders = (res: Response) => ({
  id: res.headers.get('x-request-id'),
  mode: res.headers.get('x-switchyard-route-mode'),
  attempts: res.headers.get('x-switchyard-attempts'),
});
const HEADERS = (attempts: string) => ({ id: /^[0-9a-f-]{36}$/, mode: /^[a-z_]+$/, attempts });

t.test('every target cooling down: the 503 names route mode and zero attempts', async (t) => {
  const a = await startFakeUpstream(fail(503));
  const gw = await startGateway(routeOver([a.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); });
  t.equal((await post(gw.baseURL)).status, 503, 'the upstream 503 opens the circuit');
  const res = await post(gw.baseURL);
  t.match(await res.json(), { error: { code: 'SY_ERR_ALL_COOLING_DOWN' } });
  t.equal(res.status, 503);
  t.ok(res.headers.get('retry-after'));
  t.match(gatewayHeaders(res), HEADERS('0'), 'x-request-id, route mode and attempt count');
});

t.test('a route rate limit: the 429 names route mode and zero attempts', async (t) => {
  const a = await startFakeUpstream(ok());
  const gw = await startGateway({ ...routeOver([a.url], { rate_limit: { rpm: 1 } }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  t.equal((await post(gw.baseURL)).status, 200);
  const res = await post(gw.baseURL);
  t.equal(res.status, 429);
  t.match(await res.json(), { error: { code: 'SY_ERR_RATE_LIMITED' } });
  t.match(gatewayHeaders(res), HEADERS('0'), 'x-request-id, route mode and attempt count');
});

t.test('a plugin refusing in preRoute (Anthropic entry): its error shape and the gateway headers', async (t) => {
  const a = await startFakeUpstream(ok());
  const guard = { name: 'guard', version: '1.0.0', hooks: { preRoute: () => { throw new GatewayError('SY_ERR_FORBIDDEN', 'blocked by guardrail'); } } } as PluginDefinition<unknown>;
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [guard] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await post(gw.baseURL, '/messages', { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(res.status, 403);
  t.match(await res.json(), { type: 'error', error: { type: 'permission_error', message: 'blocked by guardrail' } });
  t.match(gatewayHeaders(res), HEADERS('0'), 'x-request-id, route mode and attempt count');
  t.equal(a.seen.length, 0);
});

t.test('a critical plugin failing after an attempt: the 500 counts that attempt', async (t) => {
  const a = await startFakeUpstream(fail(500));
  const crit = { name: 'crit', version: '1.0.0', critical: true, hooks: { onError: () => { throw new Error('boom'); } } } as PluginDefinition<unknown>;
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [crit] });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await post(gw.baseURL);
  t.equal(res.status, 500);
  t.match(await res.json(), { error: { code: 'SY_ERR_PLUGIN' } });
  t.match(gatewayHeaders(res), HEADERS('1'), 'x-request-id, route mode and attempt count');
  t.equal(res.headers.get('x-switchyard-provider'), 'p1');
});
