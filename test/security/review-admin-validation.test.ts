import t from 'tap';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

/**
 * Admin API query validation: a bad value is a 400 in the one error shape every admin route
 * uses ({ error: { message, type, param, code } }), never a silent "all rows".
 */

const ADMIN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

t.test('bad query values on the audit, request log and traffic reads are 400s in the common error shape', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({ providers: [{ id: 'up', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'up', model: 'x' }] }], admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const get = async (path: string) => {
    const res = await fetch(`${gw.url}/admin/api${path}`, { headers: auth });
    return { status: res.status, body: (await res.json()) as any };
  };

  // Three audit rows to page through.
  for (const m of ['a', 'b', 'c']) {
    const source = `providers:\n  - { id: up, kind: openai, base_url: "${up.url}" }\nroutes:\n  - { model: m, targets: [{ provider: up, model: ${m} }] }\nadmin: { token: ${ADMIN} }\n`;
    t.equal((await fetch(`${gw.url}/admin/api/config/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source }) })).status, 200);
  }
  t.equal((await get('/audit')).body.data.length, 3);
  t.equal((await get('/audit?limit=1')).body.data.length, 1, 'limit pages');
  t.equal((await get('/audit?scope=config&limit=2')).body.data.length, 2);

  for (const q of ['limit=-1', 'limit=0', 'limit=abc', 'limit=5000', 'scope=bogus']) {
    const r = await get(`/audit?${q}`);
    t.equal(r.status, 400, `audit ?${q}: 400`);
    t.match(r.body, { error: { message: /audit takes/, type: 'invalid_request_error', code: 'SY_ERR_INVALID_REQUEST' } }, `audit ?${q}: says what it takes`);
    t.ok(r.body?.error && 'param' in r.body.error, `audit ?${q}: common shape`);
  }
  for (const path of ['/requests?status=abc', '/requests?limit=0', '/requests?since=yesterday', '/traffic?minutes=abc']) {
    const r = await get(path);
    t.equal(r.status, 400, `${path}: 400`);
    t.match(r.body, { error: { message: String, type: 'invalid_request_error', code: 'SY_ERR_INVALID_REQUEST' } }, `${path}: common shape`);
    t.ok(r.body?.error && 'param' in r.body.error, `${path}: with a param field`);
  }
  t.equal((await get('/requests?status=abc')).body.error.param, 'status', 'param names the bad field');
});
