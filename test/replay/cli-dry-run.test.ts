import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../../core/store/db.js';
import { exportCaptures } from '../../policies/replay/index.js';
import { auth, preferB, REPORT_KEYS } from './helpers.js';
import { capturingGateway as gateway, cli, noTiming, onlyJson } from './cli-helpers.js';

t.test('policy dry-run: --json prints exactly one JSON object; the default is a table; --url goes through the admin API', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-replay-cli-'));
  const dataDir = join(dir, 'data');
  const { gw, ups } = await gateway(t, dataDir);
  const policyFile = join(dir, 'prefer-b.ts');
  writeFileSync(policyFile, preferB);
  const seen = () => ups.map((u) => u.seen.length);
  const before = seen();

  const remote = await cli('policy', 'dry-run', policyFile, '--url', gw.url, '--json');
  const r = onlyJson(t, remote.stdout);
  t.same(Object.keys(r).sort(), REPORT_KEYS);
  t.match(r, { total: 6, changed: 6, errors: 0, timeouts: 0 }, 'the file source was sent; requests just served are included');

  const active = onlyJson(t, (await cli('policy', 'dry-run', 'active', '--data-dir', dataDir, '--against', 'recorded', '--json')).stdout);
  t.match(active, { total: 6, changed: 0, decision_us: { p50: 0, p99: 0 } }, 'no policy published: active is the static order, as recorded');

  const table = await cli('policy', 'dry-run', policyFile, '--data-dir', dataDir, '--down', 'a', '--down', 'zz');
  t.match(table.stdout, /decisions changed\s+0 of 6 \(0\.0%\)/);
  t.match(table.stdout, /traffic share/);
  t.match(table.stdout, /b\s+100\.0%\s+→\s+100\.0%/);
  t.match(table.stdout, /est\. cost/);
  t.match(table.stdout, /policy timeouts\s+0/);
  t.match(table.stdout, /down: a, zz/, '--down is repeatable');
  t.equal(table.stderr, '', 'no progress bar when stderr is not a terminal');

  // A JSONL file replayed here, with the revision looked up through the admin API.
  const db = await Db.open(dataDir);
  let jsonl = '';
  await exportCaptures(db, 0, (c) => { jsonl += c; });
  await db.close();
  const file = join(dir, 'captures.jsonl');
  writeFileSync(file, jsonl);
  const pub = await (await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: preferB }) })).json() as { id: string };
  const byRev = onlyJson(t, (await cli('policy', 'dry-run', pub.id.slice(0, 10), '--captures', file, '--url', gw.url, '--json')).stdout);
  t.match(byRev, { total: 6, changed: 6, shift: { b: { before: 0, after: 1 } } }, 'REV resolved through --url, captures from the file');

  const missing = await cli('policy', 'dry-run', 'no-such-file.ts', '--data-dir', dataDir, '--json').catch((e: { code: number; stdout: string; stderr: string }) => e);
  t.equal((missing as { code: number }).code, 1);
  t.match(onlyJson(t, (missing as { stdout: string }).stdout), { ok: false, error: { message: /no such policy file/, code: 'SY_ERR_INVALID_REQUEST' } }, 'on failure: one JSON object, ok false, the message');
  t.match((missing as { stderr: string }).stderr, /no such policy file/);
  t.same(seen(), before, 'no upstream calls from any dry-run');
});
