import t from 'tap';
import OpenAI from 'openai';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, ok, fail } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { definePlugin } from '../../sdk/plugin.js';

const ADMIN = 'admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise<never>(() => {});

async function post(url: string): Promise<{ status: number; body: { error?: { code: string } }; ms: number }> {
  const t0 = Date.now();
  // The client gives up long after the route's deadline: a hang shows as 'timeout' here.
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }), signal: AbortSignal.timeout(4000) }).catch(() => null);
  return res ? { status: res.status, body: await res.json() as { error?: { code: string } }, ms: Date.now() - t0 } : { status: 0, body: {}, ms: Date.now() - t0 };
}

t.test('a hook that never settles does not hold the request past its deadline', async (t) => {
  const up = await startFakeUpstream(fail(500));
  t.teardown(() => up.close());
  for (const phase of ['preRoute', 'selectProvider', 'onError'] as const) {
    const stuck = definePlugin({ name: 'stuck', version: '1.0.0', hooks: { [phase]: never } });
    const gw = await startGateway({ ...routeOver([up.url], { deadline_ms: 500, retries: 0 }), plugins: [] }, { plugins: [stuck] });
    const r = await post(gw.baseURL);
    t.equal(r.status, 504, `${phase}: answered at the deadline`);
    t.equal(r.body.error?.code, 'SY_ERR_DEADLINE', phase);
    t.ok(r.ms < 2000, `${phase}: in ${r.ms} ms`);
    t.equal(gw.gw.hookErrors, 1, `${phase}: counted`);
    t.ok(gw.logs.some((l) => l.plugin === 'stuck' && l.phase === phase && l.msg === 'plugin hook failed'), `${phase}: logged`);
    await gw.close();
  }
});

t.test('a hook that settles in time is still awaited', async (t) => {
  const up = await startFakeUpstream(ok('served'));
  t.teardown(() => up.close());
  const slow = definePlugin({ name: 'slow', version: '1.0.0', hooks: { async preRoute(ctx) { await sleep(50); ctx.responseHeaders['x-slow'] = 'done'; } } });
  const gw = await startGateway({ ...routeOver([up.url]), plugins: [] }, { plugins: [slow] });
  t.teardown(() => gw.close());
  const r = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse();
  t.equal(r.response.headers.get('x-slow'), 'done');
  t.equal(gw.gw.hookErrors, 0);
});

t.test('a postResponse hook that never settles does not stop the hooks after it (telemetry)', async (t) => {
  const up = await startFakeUpstream(ok('served'));
  const dir = mkdtempSync(join(tmpdir(), 'sy-hang-post-'));
  t.teardown(async () => { await up.close(); rmSync(dir, { recursive: true, force: true }); });
  // Listed by path before telemetry, so its postResponse runs first.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'stuck.js'), "export default { name: 'stuck-post', version: '1.0.0', hooks: { postResponse: () => new Promise(() => {}) } };\n");
  const gw = await startGateway({ ...routeOver([up.url]), plugins: ['health', 'cooldown', 'cost', './stuck.js', 'telemetry'], admin: { token: ADMIN } }, { dataDir: ':memory:', baseDir: dir });
  t.teardown(() => gw.close());
  const r = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse();
  const id = r.response.headers.get('x-request-id');
  await sleep(6500);
  const log = await (await fetch(`${gw.url}/admin/api/requests?id=${id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { data: unknown[] };
  t.equal(log.data.length, 1, 'telemetry still recorded the request');
  t.ok(gw.logs.some((l) => l.plugin === 'stuck-post' && l.phase === 'postResponse'), 'the stuck hook is logged');
});
