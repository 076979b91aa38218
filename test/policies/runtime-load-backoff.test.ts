import t from 'tap';
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../../core/log.js';
import { Db } from '../../core/store/db.js';
import { RevisionStore } from '../../policies/revisions/store.js';
import { PolicyRuntime } from '../../policies/runtime.js';
import { compilePolicy } from '../../policies/compile/compile.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Type-checks, but its top-level code throws: publish refuses it, an older data dir may still point at one. */
const throwsAtLoad = `import { definePolicy } from 'switchyard/sdk';
const table: { weight: number } = JSON.parse('null');
const w = table.weight;
export default definePolicy({ name: 'throws-at-load', selectProvider({ candidates }) { return { order: candidates.map((c) => c.id), reason: String(w) }; } });
`;

t.test('an active revision that will not load is retried with backoff, not logged on every poll', async (t) => {
  const db = await Db.open(mkdtempSync(join(tmpdir(), 'sy-runtime-backoff-')));
  const store = new RevisionStore(db);
  const compiled = await compilePolicy(throwsAtLoad, 'throws.ts');
  if (!compiled.ok) throw new Error('fixture does not compile');
  // Straight into the store, past publish's load check (as a data dir from an older version may hold).
  await store.put({ id: 'rev-broken', scope: 'policy', name: 'throws.ts', source: throwsAtLoad, compiled: compiled.js, author: 'test', note: null });
  await store.activate('policy', 'rev-broken', { actor: 'test', action: 'publish' });

  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  const runtime = new PolicyRuntime(store, createLogger('info', sink), new Registry());
  t.teardown(async () => { runtime.stop(); await db.close(); });
  runtime.start(100);
  await runtime.sync();
  await sleep(1500); // 15 polls
  const failures = lines.filter((l) => /could not load the active revision/.test(String(l.msg)));
  t.ok(failures.length >= 1, 'the failure is logged');
  t.ok(failures.length <= 2, `retried with backoff (${failures.length} attempts in 1.5 s of 100 ms polls)`);
  t.equal(runtime.activeId, null, 'nothing is served from the broken revision');
});
