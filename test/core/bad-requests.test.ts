import t from 'tap';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

t.test('bad requests get a clear 4xx in the OpenAI error shape and never reach an upstream', async (t) => {
  const a = await startFakeUpstream(ok());
  const gw = await startGateway({ ...routeOver([a.url]), server: { host: '127.0.0.1', port: 0, body_limit_mb: 0.01 } });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers, body });
  const shape = (code: string) => ({ error: { message: String, type: 'invalid_request_error', code } });

  let res = await post('{"model": "m", "messages": [');
  t.equal(res.status, 400, 'malformed JSON');
  t.match(await res.json(), shape('SY_ERR_INVALID_JSON'));
  const rid = res.headers.get('x-request-id') ?? '';
  t.match(rid, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a request id (a UUIDv7), even for a body that does not parse');
  const ms = parseInt(rid.replace('-', '').slice(0, 12), 16);
  t.ok(Math.abs(ms - Date.now()) < 3_600_000, 'its first 48 bits are the time it was made, so ids sort by time');

  res = await post(JSON.stringify({ model: 'no-such-route', messages: [] }));
  t.equal(res.status, 404, 'unknown model');
  t.match(await res.json(), { error: { code: 'SY_ERR_MODEL_NOT_FOUND', param: 'model' } });

  res = await post(JSON.stringify({ messages: [] }));
  t.equal(res.status, 400, 'missing model');
  t.match(await res.json(), { error: { code: 'SY_ERR_INVALID_REQUEST', param: 'model' } });

  res = await post('[1,2,3]');
  t.equal(res.status, 400, 'not an object');

  res = await post(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(20000) }] }));
  t.equal(res.status, 413, 'over server.body_limit_mb');
  t.match(await res.json(), shape('SY_ERR_BODY_TOO_LARGE'));

  res = await post('', { 'content-type': 'application/json' });
  t.equal(res.status, 400, 'empty body');

  res = await post(JSON.stringify({ model: 'm', messages: [] }), { 'content-type': 'text/plain' });
  t.equal(res.status, 200, 'a JSON body with a sloppy content-type is still accepted (curl -d)');

  res = await fetch(`${gw.url}/v1/nope`);
  t.equal(res.status, 404);
  t.match(await res.json(), { error: { code: 'SY_ERR_NOT_FOUND' } });

  t.equal(a.seen.length, 1, 'only the one valid request reached the upstream');
});

t.test('models, health and readiness', async (t) => {
  const a = await startFakeUpstream(ok());
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const models = await (await fetch(`${gw.baseURL}/models`)).json();
  t.match(models, { object: 'list', data: [{ id: 'm', object: 'model' }] });
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  t.match(await (await fetch(`${gw.url}/readyz`)).json(), { status: 'ready' });
});
