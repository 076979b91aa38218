import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
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

t.test('a reader that stops reading: lines past 16 MiB are dropped, counted, and reported once it catches up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-log-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wfd = openSync(fifo, 'w');
  t.teardown(() => {
    closeSync(rfd);
    closeSync(wfd);
    rmSync(dir, { recursive: true, force: true });
  });
  const d = new BatchedFdDestination(wfd);
  const line = `{"msg":"${'x'.repeat(1000)}"}\n`;
  for (let i = 0; i < 18_000; i++) {
    d.write(line); // ~18 MB while nobody reads: the pipe fills, then the queue
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  const dropped = d.dropped;
  t.ok(dropped > 0, `lines dropped once 16 MiB were queued (${dropped})`);
  // Now read: everything queued drains, then the gateway says what it lost.
  const buf = Buffer.alloc(1 << 20);
  let tail = '';
  const until = Date.now() + 30_000;
  while (!/log lines dropped/.test(tail) && Date.now() < until) {
    d.flush(); // what the shared stderr destination's timer does every 250 ms
    try {
      const n = readSync(rfd, buf, 0, buf.length, null);
      tail = (tail + buf.toString('utf8', 0, n)).slice(-4096);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  t.match(tail, new RegExp(`"msg":"${dropped} log lines dropped: stderr was not read fast enough"`), 'the loss is logged when the reader catches up');
});
