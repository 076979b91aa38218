import t from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedFdDestination } from '../../core/log-destination.js';

t.test('log lines are written in batches, whole and in order; flush(cb) answers once they are out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-log-'));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'w');
  t.teardown(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const d = new BatchedFdDestination(fd);
  const n = 20_000; // ~1.3 MB: many batches, some written while others queue
  for (let i = 0; i < n; i++) {
    d.write(`{"n":${i},"msg":"line ${'é'.repeat(i % 5)}"}\n`);
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise<void>((r) => d.flush(r));
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.equal(lines.length, n, 'every line');
  t.ok(lines.every((l, i) => (JSON.parse(l) as { n: number }).n === i), 'in order, none torn');
  t.equal(d.dropped, 0);

  d.write('{"n":"last"}\n');
  d.flushSync();
  t.match(readFileSync(file, 'utf8'), /\{"n":"last"\}\n$/, 'flushSync writes what is queued (process exit)');
  await new Promise<void>((r) => d.flush(r)); // nothing queued: answers at once
});
