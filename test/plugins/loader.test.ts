import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { definePlugin } from '../../sdk/plugin.js';

const ADMIN = 'admin-token-0123456789abcdef';
const example = resolve('examples/plugins/tenant-router');

async function bootError(config: Record<string, unknown>, opts = {}): Promise<string> {
  try {
    const gw = await startGateway(config, opts);
    await gw.close();
    return 'booted';
  } catch (err) {
    return (err as Error).message;
  }
}

t.test('no plugins key loads the four built-ins; plugins: [] loads none', async (t) => {
  const a = await startFakeUpstream(ok());
  t.teardown(() => a.close());
  const gw = await startGateway(routeOver([a.url]));
  t.same(gw.gw.plugins.map((p) => p.name), ['health', 'cooldown', 'cost', 'telemetry']);
  await gw.close();
  const none = await startGateway({ ...routeOver([a.url]), plugins: [] });
  t.same(none.gw.plugins, []);
  const metrics = await (await fetch(`${none.url}/metrics`)).text();
  t.notMatch(metrics, /switchyard_requests_total/, 'no telemetry metrics without the plugin');
  await none.close();
});

t.test('load errors name the plugin and what is wrong', async (t) => {
  const a = await startFakeUpstream(ok());
  t.teardown(() => a.close());
  const base = routeOver([a.url]);
  t.match(await bootError({ ...base, plugins: ['nope-not-a-plugin'] }), /plugin nope-not-a-plugin: cannot be loaded/);
  t.match(await bootError({ ...base, plugins: ['cost'] }), /plugin cost: needs plugin "health", which is not in the plugins list/);
  t.match(await bootError({ ...base, plugins: ['health', 'health'] }), /plugin health: is listed twice/);
  t.match(await bootError({ ...base, plugins: [{ name: 'health', config: { alpha: 7 } }] }), /plugin health: invalid config: alpha/);
  const needsNewHealth = definePlugin({ name: 'x', version: '1.0.0', dependencies: ['health@^2'], hooks: {} });
  t.match(await bootError({ ...base, plugins: ['health'] }, { plugins: [needsNewHealth] }), /plugin x: needs health@\^2 but health is 1\.0\.0/);
  t.match(await bootError({ ...base, plugins: [] }, { plugins: [{ name: 'bad', version: 'one' }] }), /plugin bad: has an invalid "version"/);
  const cyc1 = { name: 'c1', version: '1.0.0', dependencies: ['c2'] };
  const cyc2 = { name: 'c2', version: '1.0.0', dependencies: ['c1'] };
  t.match(await bootError({ ...base, plugins: [] }, { plugins: [cyc1, cyc2] }), /dependency cycle/);
  const refuses = definePlugin({ name: 'needs-env', version: '1.0.0', hooks() { throw new Error('needs API_URL'); } });
  t.match(await bootError({ ...base, plugins: [] }, { plugins: [refuses] }), /^plugin needs-env: failed to start: needs API_URL$/, 'a hooks() factory that throws is named');
});

t.test('a throwing hook is logged and counted and the request is served; a critical one fails it', async (t) => {
  const a = await startFakeUpstream(ok('served'));
  t.teardown(() => a.close());
  const flaky = definePlugin({ name: 'flaky', version: '1.0.0', hooks: { preRoute() { throw new Error('boom'); }, selectProvider() { throw new Error('boom'); } } });
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [flaky] });
  t.teardown(() => gw.close());
  const r = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] });
  t.equal(r.choices[0].message.content, 'served');
  t.equal(gw.gw.hookErrors, 2);
  t.ok(gw.logs.some((l) => l.plugin === 'flaky' && l.phase === 'preRoute' && l.msg === 'plugin hook failed'));

  const critical = definePlugin({ name: 'guard', version: '1.0.0', critical: true, hooks: { preRoute() { throw new Error('boom'); } } });
  const gw2 = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [critical] });
  t.teardown(() => gw2.close());
  const res = await fetch(`${gw2.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 500);
  t.match(await res.json(), { error: { code: 'SY_ERR_PLUGIN', message: /plugin guard failed in preRoute/ } });
});

t.test('a GatewayError from another copy of the package (a plugin with its own switchyard) is a rejection, not a crash', async (t) => {
  const a = await startFakeUpstream(ok('served'));
  t.teardown(() => a.close());
  // A second instance of core/errors: what a community plugin's nested node_modules/switchyard gives.
  const copy = (await import(`../../core/errors.ts?copy=${Date.now()}`)) as typeof import('../../core/errors.js');
  t.not(copy.GatewayError, (await import('../../core/errors.js')).GatewayError, 'really another class');
  const guard = definePlugin({ name: 'guard', version: '1.0.0', hooks: { preRoute() { throw new copy.GatewayError('SY_ERR_FORBIDDEN', 'blocked by the guardrail'); } } });
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { plugins: [guard] });
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 403);
  t.match(await res.json(), { error: { code: 'SY_ERR_FORBIDDEN', message: 'blocked by the guardrail' } });
  t.equal(gw.gw.hookErrors, 0, 'not counted as a plugin fault');
  t.equal(a.seen.length, 0, 'nothing went upstream');
});

async function tenantStory(t: Test, pluginSpec: string, baseDir: string) {
  const shared = await startFakeUpstream(ok('shared'));
  const dedicated = await startFakeUpstream(ok('dedicated'));
  t.teardown(async () => { await shared.close(); await dedicated.close(); });
  const gw = await startGateway({
    providers: [{ id: 'shared', kind: 'openai', base_url: shared.url }, { id: 'dedicated', kind: 'openai', base_url: dedicated.url }],
    routes: [{ model: 'm', targets: [{ provider: 'shared', model: 'x' }, { provider: 'dedicated', model: 'y' }] }],
    plugins: ['health', 'cooldown', { name: pluginSpec, config: { tenants: { acme: { providers: ['dedicated'] } } } }],
    admin: { token: ADMIN },
  }, { baseDir });
  t.teardown(() => gw.close());
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  const plain = await client.chat.completions.create({ model: 'm', messages: [] });
  t.equal(plain.choices[0].message.content, 'shared');
  const acme = await client.chat.completions.create({ model: 'm', messages: [] }, { headers: { 'x-switchyard-metadata': JSON.stringify({ tenant: 'acme' }) } }).withResponse();
  t.equal(acme.data.choices[0].message.content, 'dedicated', 'the tenant went to its provider');
  t.equal(acme.response.headers.get('x-tenant'), 'acme');
  const stats = await fetch(`${gw.url}/admin/api/tenant-router/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
  t.equal(stats.status, 200, 'plugin routes are mounted under the admin API');
  t.equal((await fetch(`${gw.url}/admin/api/tenant-router/stats`)).status, 401, 'behind admin auth');
}

t.test('a community plugin loads by file path', async (t) => {
  await tenantStory(t, './index.js', example);
});

t.test('a community plugin loads by package name after npm pack + install', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-plugin-'));
  const tgz = execFileSync('npm', ['pack', example, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, tgz)], { cwd: app, stdio: 'ignore' });
  await tenantStory(t, 'switchyard-plugin-tenant-router', app);
});
