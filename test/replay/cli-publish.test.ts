import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './helpers.js';
import { cliRun as cli, publishSetup as setup } from './cli-helpers.js';

t.test('policy publish on the data dir dry-runs recent captures first; --require-dry-run-clean refuses a failing policy', async (t) => {
  const { dir, dataDir, gw, broken, good, traffic } = await setup(t);
  const fresh = await cli('policy', 'publish', good, '--data-dir', join(dir, 'empty'), '--require-dry-run-clean', '--json');
  t.equal(fresh.code, 0, 'no captures: the guard has nothing to object to');
  t.match(fresh.stderr, /no captures from the last 24h/);
  t.match(JSON.parse(fresh.stdout), { changed: true }, 'stdout holds only the publish result');

  await traffic(4);
  await gw.gw.capture!.writer.flush(); // on disk for the data-dir CLI
  const refused = await cli('policy', 'publish', broken, '--data-dir', dataDir, '--require-dry-run-clean');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /dry-run on 4 captures from the last 24h: .*4 errors, 0 timeouts/);
  t.match(refused.stderr, /refusing to publish/);
  const hist = JSON.parse((await cli('policy', 'history', '--data-dir', dataDir, '--json')).stdout) as { active: string | null; revisions: unknown[] };
  t.equal(hist.active, null, 'nothing was published');
  t.equal(hist.revisions.length, 0);

  const warned = await cli('policy', 'publish', broken, '--data-dir', dataDir);
  t.equal(warned.code, 0, 'without the flag it publishes (DESIGN.md), with the warning');
  t.match(warned.stderr, /warning: .*broken\.ts errors on 4 and times out on 0 of 4 captures/);

  const typo = join(dir, 'typo.ts');
  writeFileSync(typo, `import { definePolicy } from 'switchyard/sdk';\nexport default definePolicy({ name: 't', selectProvider: ({ candidates }) => ({ order: candidates.map((c) => c.idd) }) });\n`);
  const notCompiling = await cli('policy', 'publish', typo, '--data-dir', dataDir, '--require-dry-run-clean');
  t.equal(notCompiling.code, 1);
  t.match(notCompiling.stderr, /typo\.ts:2:\d+ /, 'compile diagnostics as usual');
});
