import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { preferSecond } from './fixtures/policies.js';

const run = promisify(execFile);
const ADMIN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

const throws = `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({ name: 'broken', selectProvider() { throw new Error('nope'); } });
`;
const typeError = `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({
  name: 'typo',
  selectProvider({ candidates }) {
    return { order: candidates.map((c) => c.idd) };
  },
});
`;

async function setup(t: Test, extra: Record<string, unknown> = {}) {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-policy-'));
  const gw = await startGateway({
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'y' }] }],
    admin: { token: ADMIN },
    ...extra,
  }, { dataDir });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  const ask = async () => {
    const r = await client.chat.completions.create({ model: 'm', messages: [] }).withResponse();
    return { text: r.data.choices[0].message.content, mode: r.response.headers.get('x-switchyard-route-mode') };
  };
  return { gw, ask, dataDir };
}

t.test('publish changes routing on the next request; rollback restores it; the audit shows both', async (t) => {
  const { gw, ask } = await setup(t);
  t.same(await ask(), { text: 'from a', mode: 'direct' });

  const pub = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: preferSecond, note: 'move to b', author: 'ana' }) });
  t.equal(pub.status, 200);
  const published = await pub.json() as { id: string; changed: boolean };
  t.equal(published.changed, true);
  t.same(await ask(), { text: 'from b', mode: 'policy' }, 'the very next request follows the policy');

  const list = await (await fetch(`${gw.url}/admin/api/policies`, { headers: auth })).json() as { active: string; revisions: { id: string; active: boolean; name: string }[] };
  t.equal(list.active, published.id);
  t.equal(list.revisions[0].name, 'prefer-second');

  const rb = await fetch(`${gw.url}/admin/api/policies/rollback`, { method: 'POST', headers: auth, body: JSON.stringify({ note: 'back to static' }) });
  t.equal(rb.status, 200);
  t.same(await ask(), { text: 'from a', mode: 'direct' }, 'rollback restores the static order');

  const audit = await (await fetch(`${gw.url}/admin/api/audit`, { headers: auth })).json() as { data: { action: string; from_rev: string | null; to_rev: string | null; actor: string; note: string }[] };
  t.match(audit.data, [
    { action: 'rollback', from_rev: published.id, to_rev: null, note: 'back to static' },
    { action: 'publish', from_rev: null, to_rev: published.id, actor: /ana/, note: 'move to b' },
  ]);
});

t.test('type errors are rejected at publish with file:line:col; a throwing policy is served around', async (t) => {
  const { gw, ask } = await setup(t);
  const bad = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: typeError, file_name: 'typo.ts' }) });
  t.equal(bad.status, 422);
  t.match(((await bad.json()) as { error: { message: string } }).error.message, /typo\.ts:5:\d+ .*idd/);

  const pub = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: throws }) });
  t.equal(pub.status, 200, 'a policy that fails at run time can be published');
  for (let i = 0; i < 3; i++) t.same(await ask(), { text: 'from a', mode: 'direct' }, 'requests are still served in the static order');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  t.match(metrics, /switchyard_policy_calls_total\{revision="[0-9a-f]{12}",result="throw"\} 3/);
});

t.test('the CLI publishes on the data dir and the running gateway notices within 2 seconds', async (t) => {
  const { ask, dataDir } = await setup(t);
  const file = join(dataDir, 'prefer-second.ts');
  writeFileSync(file, preferSecond);
  const out = await run(process.execPath, ['dist/core/cli/main.js', 'policy', 'publish', file, '--data-dir', dataDir, '--note', 'cli', '--json']);
  const r = JSON.parse(out.stdout) as { id: string; changed: boolean };
  t.equal(r.changed, true);
  const t0 = Date.now();
  let got = await ask();
  while (got.text !== 'from b' && Date.now() - t0 < 3000) {
    await new Promise((res) => setTimeout(res, 100));
    got = await ask();
  }
  t.equal(got.text, 'from b');
  t.ok(Date.now() - t0 <= 2000, `noticed in ${Date.now() - t0} ms`);

  const hist = JSON.parse((await run(process.execPath, ['dist/core/cli/main.js', 'policy', 'history', '--data-dir', dataDir, '--json'])).stdout) as { active: string };
  t.equal(hist.active, r.id);
  await run(process.execPath, ['dist/core/cli/main.js', 'policy', 'rollback', '--data-dir', dataDir]);
  await new Promise((res) => setTimeout(res, 1500));
  t.equal((await ask()).text, 'from a', 'rollback through the CLI too');

  const check = await run(process.execPath, ['dist/core/cli/main.js', 'policy', 'check', join(dataDir, 'typo.ts')]).catch((e: { stderr: string; code: number }) => e);
  t.ok('code' in check, 'a missing file fails');
  writeFileSync(join(dataDir, 'typo.ts'), typeError);
  const bad = await run(process.execPath, ['dist/core/cli/main.js', 'policy', 'check', join(dataDir, 'typo.ts')]).catch((e: { stderr: string; code: number }) => e);
  t.equal((bad as { code: number }).code, 1);
  t.match((bad as { stderr: string }).stderr, /typo\.ts:5:\d+ /);
});

t.test('a policy file is published at start only when new, so a rollback survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-pfile-'));
  writeFileSync(join(dir, 'active.ts'), preferSecond);
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const cfg = {
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'y' }] }],
    admin: { token: ADMIN },
    policy: 'active.ts',
  };
  const dataDir = join(dir, 'data');
  const first = await startGateway(cfg, { dataDir, baseDir: dir });
  const c1 = new OpenAI({ baseURL: first.baseURL, apiKey: 'x', maxRetries: 0 });
  t.equal((await c1.chat.completions.create({ model: 'm', messages: [] })).choices[0].message.content, 'from b', 'the file was published at start');
  await fetch(`${first.url}/admin/api/policies/rollback`, { method: 'POST', headers: auth, body: '{}' });
  await first.close();

  const second = await startGateway(cfg, { dataDir, baseDir: dir });
  t.teardown(() => second.close());
  const c2 = new OpenAI({ baseURL: second.baseURL, apiKey: 'x', maxRetries: 0 });
  t.equal((await c2.chat.completions.create({ model: 'm', messages: [] })).choices[0].message.content, 'from a', 'the rollback survived the restart');
});
