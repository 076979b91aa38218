import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../../core/store/db.js';
import { createLogger } from '../../core/log.js';
import { RevisionStore } from '../../policies/revisions/store.js';
import { watchFiles } from '../../policies/watch.js';
import { publishPolicy } from '../../policies/lifecycle.js';

const policy = (name: string) => `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({ name: '${name}', selectProvider({ candidates }) { return { order: candidates.map((c) => c.id) }; } });
`;

async function until(fn: () => Promise<boolean>, ms = 8000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('a watched policy file is staged on change, published with --dev, and a broken file never replaces a working revision', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-watch-'));
  const file = join(dir, 'active.ts');
  writeFileSync(file, policy('v1'));
  const db = await Db.open(join(dir, 'data'));
  const store = new RevisionStore(db);
  const v1 = await publishPolicy(store, policy('v1'), file, { actor: 'test' });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (s: string) => { lines.push(JSON.parse(s)); return true; } } as unknown as NodeJS.WritableStream);

  const staging = watchFiles(store, [{ scope: 'policy', file }], log, false);
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(file, policy('v2'));
  t.ok(await until(async () => (await store.list('policy')).length === 2), 'the change was staged as a revision');
  t.equal(await store.activeId('policy'), v1.id, 'but not published without --dev');
  await staging.close();

  const dev = watchFiles(store, [{ scope: 'policy', file }], log, true);
  t.teardown(async () => { await dev.close(); await db.close(); });
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(file, policy('v3'));
  t.ok(await until(async () => (await store.active('policy'))?.name === 'v3'), '--dev publishes the change');

  writeFileSync(file, 'export default definePolicy({ name: "broken", selectProvider( {');
  t.ok(await until(async () => lines.some((l) => /rejected/.test(String(l.msg)))), 'the broken file is rejected with a logged reason');
  t.equal((await store.active('policy'))?.name, 'v3', 'the working revision stays active');
});
