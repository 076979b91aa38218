import t from 'tap';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { AdminAuth, requireAdmin, SESSION_COOKIE } from '../../core/access/admin-auth.js';
import type { Teardown } from '../helpers/security.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

async function adminGateway(t: Teardown, admin: object = { token: ADMIN, viewer_token: VIEWER }): Promise<TestGateway> {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway(
    { providers: [{ id: 'p1', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], admin, plugins: [] },
    {
      setup(_hooks, gw) {
        // A write route guarded per route (requireAdmin) and one inside the admin API context
        // (guarded by the context's hook: reads need 'read', other methods 'write').
        gw.app.post('/admin/api/test/per-route-write', { preHandler: requireAdmin('write') }, async () => ({ done: true }));
        gw.adminMounts.push((app) => {
          app.post('/test/context-write', async () => ({ done: true }));
        });
      },
    },
  );
  t.teardown(async () => { await gw.close(); await up.close(); });
  return gw;
}

type Req = { method?: string; bearer?: string; cookie?: string; origin?: string; referer?: string; body?: unknown };

async function call(gw: TestGateway, path: string, r: Req = {}) {
  const headers: Record<string, string> = {};
  if (r.bearer) headers.authorization = `Bearer ${r.bearer}`;
  if (r.cookie) headers.cookie = r.cookie;
  if (r.origin) headers.origin = r.origin;
  if (r.referer) headers.referer = r.referer;
  if (r.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${gw.url}${path}`, { method: r.method ?? 'GET', headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

async function signIn(gw: TestGateway, token: string): Promise<{ cookie: string; setCookie: string }> {
  const r = await call(gw, '/admin/api/session', { method: 'POST', body: { token } });
  const setCookie = r.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0], setCookie };
}

t.test('no admin token configured: the admin API is disabled (404 with a message saying how to enable it)', async (t) => {
  const gw = await adminGateway(t, {});
  for (const [path, method] of [['/admin/api/whoami', 'GET'], ['/admin/api/providers', 'GET'], ['/admin/api/test/context-write', 'POST'], ['/admin/api/test/per-route-write', 'POST']]) {
    const r = await call(gw, path, { method, bearer: 'anything-at-all-0123456789' });
    t.equal(r.status, 404, `${method} ${path}`);
    t.match(r.json, { error: { code: 'SY_ERR_NOT_FOUND', message: /admin API is disabled: set admin.token/ } });
  }
  t.equal((await call(gw, '/admin/api/session', { method: 'POST', body: { token: 'x' } })).status, 404);
});

t.test('bearer tokens: admin reads and writes, viewer only reads, anything else is 401', async (t) => {
  const gw = await adminGateway(t);
  t.match((await call(gw, '/admin/api/whoami', { bearer: ADMIN })).json, { role: 'admin', via: 'bearer', can_write: true });
  t.match((await call(gw, '/admin/api/whoami', { bearer: VIEWER })).json, { role: 'viewer', via: 'bearer', can_write: false });
  t.equal((await call(gw, '/admin/api/providers', { bearer: VIEWER })).status, 200, 'viewer reads the admin API');

  const none = await call(gw, '/admin/api/whoami');
  t.equal(none.status, 401);
  t.match(none.json, { error: { code: 'SY_ERR_UNAUTHORIZED' } });
  t.equal((await call(gw, '/admin/api/whoami', { bearer: `${ADMIN}x` })).status, 401);
  t.equal((await call(gw, '/admin/api/providers', { bearer: 'wrong-token-0123456789abcdef' })).status, 401);

  for (const path of ['/admin/api/test/per-route-write', '/admin/api/test/context-write']) {
    const v = await call(gw, path, { method: 'POST', bearer: VIEWER, body: {} });
    t.equal(v.status, 403, `viewer may not write: ${path}`);
    t.match(v.json, { error: { code: 'SY_ERR_FORBIDDEN', message: /read-only/ } });
    // A bearer token is not sent by browsers on their own: no same-origin check needed.
    const a = await call(gw, path, { method: 'POST', bearer: ADMIN, origin: 'https://evil.example', body: {} });
    t.equal(a.status, 200, `admin bearer writes: ${path}`);
  }
  t.equal((await call(gw, '/admin/api/whoami', { bearer: ADMIN })).headers.get('cache-control'), 'no-store');
});

t.test('browser sessions: signed HttpOnly SameSite=Strict cookie; cookie writes must be same-origin', async (t) => {
  const gw = await adminGateway(t);
  const host = new URL(gw.url).host;
  const self = `http://${host}`;

  const bad = await call(gw, '/admin/api/session', { method: 'POST', body: { token: 'not-the-token-0123456789' } });
  t.equal(bad.status, 401);
  t.equal(bad.headers.get('set-cookie'), null, 'no cookie for a wrong token');
  t.equal((await call(gw, '/admin/api/session', { method: 'POST', body: { token: ADMIN }, origin: 'https://evil.example' })).status, 403, 'cross-origin sign-in refused');

  const { cookie, setCookie } = await signIn(gw, ADMIN);
  t.match(setCookie, new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200$`));
  t.notMatch(cookie, ADMIN, 'the cookie does not carry the token');
  t.match((await call(gw, '/admin/api/whoami', { cookie })).json, { role: 'admin', via: 'cookie' });
  t.equal((await call(gw, '/admin/api/providers', { cookie })).status, 200, 'cookie reads need no Origin');

  for (const path of ['/admin/api/test/per-route-write', '/admin/api/test/context-write']) {
    const noOrigin = await call(gw, path, { method: 'POST', cookie, body: {} });
    t.equal(noOrigin.status, 403, `cookie write without Origin/Referer refused: ${path}`);
    t.match(noOrigin.json, { error: { code: 'SY_ERR_FORBIDDEN', message: /same origin/ } });
    t.equal((await call(gw, path, { method: 'POST', cookie, origin: 'https://evil.example', body: {} })).status, 403, 'cross-site Origin');
    t.equal((await call(gw, path, { method: 'POST', cookie, origin: `http://localhost:1`, body: {} })).status, 403, 'same-site, other port');
    t.equal((await call(gw, path, { method: 'POST', cookie, origin: 'null', body: {} })).status, 403, 'opaque origin');
    t.equal((await call(gw, path, { method: 'POST', cookie, referer: 'https://evil.example/page', body: {} })).status, 403, 'cross-site Referer');
    t.equal((await call(gw, path, { method: 'POST', cookie, origin: self, body: {} })).status, 200, 'same-origin write');
    t.equal((await call(gw, path, { method: 'POST', cookie, referer: `${self}/admin/`, body: {} })).status, 200, 'same-origin Referer');
  }

  const viewer = await signIn(gw, VIEWER);
  t.match((await call(gw, '/admin/api/whoami', { cookie: viewer.cookie })).json, { role: 'viewer', via: 'cookie' });
  t.equal((await call(gw, '/admin/api/test/context-write', { method: 'POST', cookie: viewer.cookie, origin: self, body: {} })).status, 403, 'viewer session cannot write');
});

t.test('forged, tampered, expired and signed-out cookies are refused; replicas with the same tokens share sessions', async (t) => {
  const gw = await adminGateway(t);
  const self = `http://${new URL(gw.url).host}`;
  const viewer = await signIn(gw, VIEWER);
  const value = viewer.cookie.split('=')[1];
  const [role, exp, nonce, sig] = value.split('.');
  t.equal(role, 'v');
  const promoted = `${SESSION_COOKIE}=a.${exp}.${nonce}.${sig}`;
  t.equal((await call(gw, '/admin/api/whoami', { cookie: promoted })).status, 401, 'role flipped: signature no longer matches');
  const extended = `${SESSION_COOKIE}=v.${Number(exp) + 86400}.${nonce}.${sig}`;
  t.equal((await call(gw, '/admin/api/whoami', { cookie: extended })).status, 401, 'expiry extended: refused');
  t.equal((await call(gw, '/admin/api/whoami', { cookie: `${SESSION_COOKIE}=garbage` })).status, 401);

  // Signed with the same key (same tokens) but 13 hours ago: expired.
  const past = new AdminAuth({ token: ADMIN, viewer_token: VIEWER }, () => Date.now() - 13 * 3600 * 1000).issue('admin');
  t.equal((await call(gw, '/admin/api/whoami', { cookie: `${SESSION_COOKIE}=${past.value}` })).status, 401, 'expired session');
  const fresh = new AdminAuth({ token: ADMIN, viewer_token: VIEWER }).issue('admin');
  t.equal((await call(gw, '/admin/api/whoami', { cookie: `${SESSION_COOKIE}=${fresh.value}` })).status, 200, 'a replica with the same tokens issued it: accepted');
  const other = new AdminAuth({ token: 'a-different-admin-token-000' }).issue('admin');
  t.equal((await call(gw, '/admin/api/whoami', { cookie: `${SESSION_COOKIE}=${other.value}` })).status, 401, 'signed under another token: refused');

  const admin = await signIn(gw, ADMIN);
  t.equal((await call(gw, '/admin/api/session', { method: 'DELETE', cookie: admin.cookie, origin: 'https://evil.example' })).status, 403, 'cross-origin sign-out refused');
  const out = await call(gw, '/admin/api/session', { method: 'DELETE', cookie: admin.cookie, origin: self });
  t.equal(out.status, 200);
  t.match(out.headers.get('set-cookie'), /Max-Age=0/);
  t.equal((await call(gw, '/admin/api/whoami', { cookie: admin.cookie })).status, 401, 'the signed-out cookie no longer works');
});
