import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Db } from '../../core/store/db.js';
import { startFakeUpstream, ok, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import type { DryRunReport } from '../../policies/replay/index.js';
import { auth, ADMIN, preferB, randomized, REPORT_KEYS, throwing } from './helpers.js';

async function setup(t: Test, extra: Record<string, unknown> = {}) {
  const ups: FakeUpstream[] = [];
  for (const name of ['a', 'b', 'c']) ups.push(await startFakeUpstream(ok(`from ${name}`)));
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-replay-'));
  const gw = await startGateway({
    providers: ups.map((u, i) => ({ id: 'abc'[i], kind: 'openai', base_url: u.url, api_key: `sk-provider-secret-${'abc'[i]}-0123456789` })),
    routes: [{ model: 'm', targets: [
      { provider: 'a', model: 'x', price: { input: 1, output: 2 } },
      { provider: 'b', model: 'y', price: { input: 3, output: 4 } },
      { provider: 'c', model: 'z', price: { input: 0.5, output: 1 } },
    ] }],
    admin: { token: ADMIN },
    ...extra,
  }, { dataDir });
  t.teardown(async () => { await gw.close(); for (const u of ups) await u.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  const ask = (content = 'hi') => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }], max_tokens: 20 });
  const seen = () => ups.map((u) => u.seen.length);
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${gw.url}/admin/api${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };
  const dryRun = async (body: unknown) => {
    const r = await post('/policies/dry-run', body);
    if (r.status !== 200) throw new Error(`dry-run ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body as unknown as DryRunReport;
  };
  return { gw, ask, seen, post, dryRun, dataDir };
}

/** Raw captures rows, read through a second connection (WAL lets it read beside the gateway). */
async function rows(dataDir: string) {
  const db = await Db.open(dataDir);
  try {
    return await db.all<{ id: string; input: string; decision: string; outcome: string; bodies: string | null }>('SELECT * FROM captures ORDER BY ts');
  } finally {
    await db.close();
  }
}

t.test('determinism: replaying the active policy against the recorded decisions changes nothing', async (t) => {
  const { ask, post, dryRun, dataDir } = await setup(t);
  const pub = await post('/policies/publish', { source: randomized, file_name: 'randomized.ts' });
  t.equal(pub.status, 200);
  for (let i = 0; i < 30; i++) await ask();
  const r = await dryRun({ candidate: 'active' });
  t.same(Object.keys(r).sort(), REPORT_KEYS);
  t.equal(r.total, 30, 'every request is replayed');
  // A live call that missed the 5 ms deadline on a loaded machine was served in the static order;
  // that is environment, not policy, and is the only thing allowed to differ.
  const liveTimeouts = (await rows(dataDir)).filter((x) => JSON.parse(x.decision).policyError === 'timeout').length;
  t.ok(r.changed <= liveTimeouts, `no decision changes (${r.changed} changed, live timeouts: ${liveTimeouts})`);
  if (liveTimeouts === 0) t.equal(r.changed, 0, 'changed is 0');
  t.ok(Object.keys(r.shift).length >= 2, `the policy spread traffic, so the check means something: ${JSON.stringify(r.shift)}`);
  for (const [p, s] of Object.entries(r.shift)) if (!liveTimeouts) t.equal(s.before, s.after, `${p} share unchanged`);
  if (!liveTimeouts) t.equal(r.cost.delta_usd, 0);
  t.equal(r.errors + r.timeouts, 0);

  const again = await dryRun({ candidate: 'active', against: 'active' });
  t.equal(again.changed, 0, 'active against active');
});

t.test('the admin dry-run includes requests completed just before the call, and makes no upstream calls', async (t) => {
  const { ask, seen, dryRun } = await setup(t);
  for (let i = 0; i < 7; i++) await ask();
  const before = seen();
  t.same(before, [7, 0, 0], 'no policy: route order');
  // 'active' needs no compile, so the call lands well inside the batch writer's 250 ms interval.
  t.equal((await dryRun({ candidate: 'active' })).total, 7, 'all 7 captures are there although the batch writer had not flushed yet');
  const r = await dryRun({ candidate: { source: preferB, file_name: 'prefer-b.ts' } });
  t.equal(r.total, 7);
  t.equal(r.changed, 7);
  t.same(r.shift, { a: { before: 1, after: 0 }, b: { before: 0, after: 1 } });
  t.ok(r.cost.delta_usd > 0, 'b is dearer');

  const down = await dryRun({ candidate: { source: preferB }, down: ['b'] });
  t.same(down.shift, { a: { before: 1, after: 1 } }, 'b down: a serves either way');
  const since = await dryRun({ candidate: 'active', since: '1ms' });
  t.ok(since.total < 7, '--since narrows the window');
  t.same(seen(), before, 'the fake upstreams saw nothing during the dry-runs');

  await ask();
  t.equal((await dryRun({ candidate: 'active' })).total, 8, 'and the next request is there on the next call');
});

t.test('admin dry-run errors: bad body, unknown revision, bad duration, policy that fails to load', async (t) => {
  const { post } = await setup(t);
  t.equal((await post('/policies/dry-run', {})).status, 400);
  t.equal((await post('/policies/dry-run', { candidate: { revision: 'abcdef123456' } })).status, 404);
  t.equal((await post('/policies/dry-run', { candidate: 'active', against: 'deadbeef0000' })).status, 404);
  t.equal((await post('/policies/dry-run', { candidate: 'active', since: 'yesterday' })).status, 400);
  const loadFail = await post('/policies/dry-run', { candidate: { source: `import { definePolicy } from 'switchyard/sdk';\nthrow new Error('top');\nexport default definePolicy({ name: 'x', selectProvider: ({ candidates }) => ({ order: candidates.map((c) => c.id) }) });\n` } });
  t.equal(loadFail.status, 422);
  t.match(JSON.stringify(loadFail.body), /cannot be loaded/);
  const viewer = await fetch(`${(await setup(t)).gw.url}/admin/api/policies/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ candidate: 'active' }) });
  t.equal(viewer.status, 401, 'behind admin auth');
});

t.test('publish with require_dry_run_clean refuses a policy that fails on captured traffic', async (t) => {
  const { ask, post } = await setup(t);
  const empty = await post('/policies/publish', { source: throwing, require_dry_run_clean: true, note: 'nothing captured yet' });
  t.equal(empty.status, 200, 'no captures: nothing to object to');
  await post('/policies/rollback', {});
  for (let i = 0; i < 3; i++) await ask();
  const refused = await post('/policies/publish', { source: throwing, file_name: 'broken.ts', require_dry_run_clean: true });
  t.equal(refused.status, 409);
  t.match((refused.body as { error: { message: string } }).error.message, /broken\.ts errors on 3 and times out on 0 of 3 captures/);
  const clean = await post('/policies/publish', { source: preferB, require_dry_run_clean: true });
  t.equal(clean.status, 200);
  t.equal((clean.body as { changed: boolean }).changed, true);
  const loose = await post('/policies/publish', { source: throwing });
  t.equal(loose.status, 200, 'without the flag a failing policy can still be published (DESIGN.md)');
});

t.test('prompts are not captured unless capture.prompts is on; secrets never', async (t) => {
  const canary = 'PROMPT-CANARY-4711';
  const off = await setup(t);
  await off.ask(canary);
  await off.dryRun({ candidate: 'active' }); // flushes
  const offRows = await rows(off.dataDir);
  t.equal(offRows.length, 1);
  const offText = JSON.stringify(offRows);
  t.notMatch(offText, canary, 'no prompt text in the captures table');
  t.notMatch(offText, 'sk-provider-secret', 'no provider key');
  t.equal(offRows[0]!.bodies, null);
  t.ok(JSON.parse(offRows[0]!.input).candidates.length === 3, 'the routing input is there');

  const on = await setup(t, { capture: { prompts: true } });
  await on.ask(canary);
  await on.dryRun({ candidate: 'active' });
  const onRows = await rows(on.dataDir);
  t.match(JSON.stringify(onRows), canary, 'with capture.prompts the request body is kept');
  t.notMatch(JSON.stringify(onRows), 'sk-provider-secret', 'still no provider key');
});
