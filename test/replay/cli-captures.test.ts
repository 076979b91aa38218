import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preferB, REPORT_KEYS } from './helpers.js';
import { capturingGateway as gateway, cli, noTiming, onlyJson } from './cli-helpers.js';

t.test('captures export -> import between two data dirs; dry-run reads the same either way', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-replay-cli-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const g = await gateway(t, a);
  await g.gw.close(); // drains: pending captures are written
  const policyFile = join(dir, 'prefer-b.ts');
  writeFileSync(policyFile, preferB);

  const exported = await cli('captures', 'export', '--data-dir', a);
  const lines = exported.stdout.trim().split('\n');
  t.equal(lines.length, 6, 'one capture per line');
  t.match(exported.stderr, /exported 6 captures/);
  const file = join(dir, 'captures.jsonl');
  writeFileSync(file, exported.stdout);
  for (const l of lines) t.match(JSON.parse(l), { id: String, ts: Number, route: 'm', input: { candidates: Array }, decision: { order: Array }, outcome: { status: 200 } });

  const imp = onlyJson(t, (await cli('captures', 'import', file, '--data-dir', b, '--json')).stdout);
  t.match(imp, { read: 6, imported: 6, skipped: 0 });
  t.match(onlyJson(t, (await cli('captures', 'import', file, '--data-dir', b, '--json')).stdout), { read: 6, imported: 0, skipped: 6 }, 'importing twice adds nothing');
  const back = (await cli('captures', 'export', '--data-dir', b)).stdout.trim().split('\n');
  const byId = (ls: string[]) => ls.map((l) => JSON.parse(l)).sort((x, y) => (x.id < y.id ? -1 : 1));
  t.same(byId(back), byId(lines), 'the round trip keeps every capture exactly');
  t.equal((await cli('captures', 'export', '--data-dir', b, '--since', '1ms')).stdout, '', '--since filters');

  // The same replay from either data dir (no compile needed: 'active' is the static order here).
  const onA = onlyJson(t, (await cli('policy', 'dry-run', 'active', '--data-dir', a, '--json')).stdout);
  const onB = onlyJson(t, (await cli('policy', 'dry-run', 'active', '--data-dir', b, '--json')).stdout);
  t.same(Object.keys(onA).sort(), REPORT_KEYS, 'exactly the report keys');
  t.match(onA, { total: 6, changed: 0, shift: { a: { before: 1, after: 1 } } });
  t.same(noTiming(onB), noTiming(onA));
  // A file candidate on a JSONL file: no gateway, no data dir.
  const onFile = onlyJson(t, (await cli('policy', 'dry-run', policyFile, '--captures', file, '--data-dir', join(dir, 'none'), '--json')).stdout);
  t.same(Object.keys(onFile).sort(), REPORT_KEYS);
  t.notOk(existsSync(join(dir, 'none')), 'no data dir was created');
  t.match(onFile, { total: 6, changed: 6, shift: { a: { before: 1, after: 0 }, b: { before: 0, after: 1 } }, errors: 0, timeouts: 0 });

  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, readFileSync(file, 'utf8') + '{"not":"a capture"}\n');
  const failed = await cli('captures', 'import', bad, '--data-dir', join(dir, 'c')).catch((e: { code: number; stderr: string }) => e);
  t.equal((failed as { code: number }).code, 1);
  t.match((failed as { stderr: string }).stderr, /bad\.jsonl:7: not a capture/);
});
