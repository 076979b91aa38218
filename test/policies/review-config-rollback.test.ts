import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { until } from '../helpers/security.js';

/**
 * Rollback moves the config pointer to an older revision. That revision must still be a
 * config this gateway can serve: otherwise the pointer names one config while another is
 * served, and the next start fails on it. A broken file must not become such a revision.
 */

const ADMIN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const ENV = 'SY_REVIEW_ROLLBACK_MODEL';

const configFor = (url: string, model: string) => `server: { host: 127.0.0.1, port: 0 }
admin: { token: ${ADMIN} }
providers:
  - { id: up, kind: openai, base_url: "${url}" }
routes:
  - model: m
    targets: [{ provider: up, model: ${model} }]
`;

async function setup(t: Test) {
  const up = await startFakeUpstream(ok());
  t.teardown(() => up.close());
  const dir = mkdtempSync(join(tmpdir(), 'sy-review-rollback-'));
  const file = join(dir, 'switchyard.yaml');
  const second = configFor(up.url, 'second-model');
  writeFileSync(file, second);
  const cfg = { providers: [{ id: 'up', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'up', model: 'second-model' }] }], admin: { token: ADMIN } };
  const start = () => startGateway(cfg, { dataDir: join(dir, 'data'), configFile: file, baseDir: dir });
  const served = async (url: string) => (await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse()).response.headers.get('x-switchyard-model');
  const active = async (url: string) => ((await (await fetch(`${url}/admin/api/config`, { headers: auth })).json()) as { active: string }).active;
  return { up, file, second, start, served, active };
}

t.test('rolling back to a config that no longer checks (a variable unset since) is refused; the running one stays, also after a restart', async (t) => {
  const { up, start, served, active, second } = await setup(t);
  const gw = await start();
  const post = (path: string, body: unknown) => fetch(`${gw.url}/admin/api/config/${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });

  process.env[ENV] = 'first-model';
  t.teardown(() => { delete process.env[ENV]; });
  const first = await post('publish', { source: configFor(up.url, `\${${ENV}}`) });
  t.equal(first.status, 200, 'a config naming a set variable publishes');
  const firstId = ((await first.json()) as { id: string }).id;
  t.ok(await until(async () => (await served(gw.url)) === 'first-model', 3000), 'and serves');
  const back = await post('publish', { source: second });
  t.equal(back.status, 200);
  const secondId = ((await back.json()) as { id: string }).id;
  t.ok(await until(async () => (await served(gw.url)) === 'second-model', 3000));

  delete process.env[ENV];
  const rb = await post('rollback', { revision: firstId });
  const body = (await rb.json()) as { error?: { message: string } };
  t.equal(rb.status, 422, 'the rollback is refused');
  t.match(body.error?.message, new RegExp(`${ENV} is not set`), 'naming the problem');
  t.equal(await active(gw.url), secondId, 'the pointer did not move');
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(await served(gw.url), 'second-model', 'the running config keeps serving');
  await gw.close();

  const again = await start();
  t.teardown(() => again.close());
  t.equal(await served(again.url), 'second-model', 'a restart serves the same config');
});

t.test('a broken config file saved while the gateway runs is not staged, so it cannot be rolled back to', async (t) => {
  const { up, file, start, active } = await setup(t);
  const gw = await start();
  t.teardown(() => gw.close());
  const before = await active(gw.url);

  // An unknown provider id in a route: parses, fails the check.
  const broken = configFor(up.url, 'x').replace('provider: up', 'provider: nope');
  writeFileSync(file, broken);
  t.ok(await until(() => gw.logs.some((l) => /config file (rejected|staged)/.test(String(l.msg))), 5000), 'the watcher saw the change');
  t.ok(gw.logs.some((l) => /config file rejected/.test(String(l.msg)) && /unknown provider "nope"/.test(String(l.problem))), 'it was rejected, with the reason');

  const id = createHash('sha256').update(broken).digest('hex');
  const rev = await fetch(`${gw.url}/admin/api/config/revisions/${id}`, { headers: auth });
  t.equal(rev.status, 404, 'no revision was stored for it');
  const rb = await fetch(`${gw.url}/admin/api/config/rollback`, { method: 'POST', headers: auth, body: JSON.stringify({ revision: id }) });
  t.not(rb.status, 200, 'a rollback to it is refused');
  t.equal(await active(gw.url), before, 'the active config is unchanged');
});
