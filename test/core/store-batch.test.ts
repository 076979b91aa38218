import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../../core/store/db.js';
import { BatchWriter } from '../../core/store/batch.js';

t.test('batched inserts land every row, in multi-row statements, replacing by key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-batch-'));
  const db = await Db.open(dir);
  t.teardown(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, body TEXT)');
  const w = new BatchWriter<{ id: string; n: number; body: string | null }>(db, 'INSERT OR REPLACE INTO t (id, n, body) VALUES (?, ?, ?)', (r) => [r.id, r.n, r.body], { maxRows: 100_000 });
  // More rows than one statement holds (500), a NULL, text with quotes and commas, and a repeated key.
  for (let i = 0; i < 1234; i++) w.push({ id: `r${i}`, n: i, body: i % 7 ? `it's "row", ${i}` : null });
  w.push({ id: 'r5', n: -5, body: 'replaced' });
  await w.flush();
  t.equal((await db.get<{ c: number }>('SELECT COUNT(*) AS c FROM t'))?.c, 1234, 'every row, once per key');
  t.same(await db.get('SELECT n, body FROM t WHERE id = ?', ['r5']), { n: -5, body: 'replaced' }, 'the later row wins');
  t.same(await db.get('SELECT n, body FROM t WHERE id = ?', ['r7']), { n: 7, body: null });
  t.same(await db.get('SELECT n, body FROM t WHERE id = ?', ['r1233']), { n: 1233, body: `it's "row", 1233` }, 'the last chunk');

  // A failing batch rolls back whole and is reported, and the writer keeps working.
  const errors: unknown[] = [];
  const strict = new BatchWriter<{ id: string; n: number | null }>(db, 'INSERT INTO t (id, n) VALUES (?, ?)', (r) => [r.id, r.n], { onError: (e) => errors.push(e) });
  strict.push({ id: 'x1', n: 1 });
  strict.push({ id: 'x2', n: null }); // NOT NULL
  await strict.flush();
  t.equal(errors.length, 1, 'the error is reported');
  t.equal(await db.get('SELECT n FROM t WHERE id = ?', ['x1']), undefined, 'nothing of the failed batch is kept');
  strict.push({ id: 'x3', n: 3 });
  await strict.flush();
  t.same(await db.get('SELECT n FROM t WHERE id = ?', ['x3']), { n: 3 }, 'the next batch lands');
});

t.test('batched inserts keep every value as bound values would: integers, fractions, booleans, nulls, text that looks like SQL, bytes', async (t) => {
  const db = await Db.open(':memory:');
  t.teardown(() => db.close());
  await db.exec('CREATE TABLE v (k INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, any)');
  const rows: unknown[][] = [
    [1, 1_795_512_870_294, 0.1 + 0.2, "1); DROP TABLE v; --", Buffer.from([0, 1, 2]), -0],
    [2, -5, 0.0000078, '42', null, 12.5],
    [3, true, Number.NaN, "it's", undefined, false],
    [4, Number.MAX_SAFE_INTEGER, 1e300, '', Buffer.alloc(0), 'x'],
    // Plain text (ids, names) goes into the statement as a '…' literal: still text, exactly.
    [5, 7, 1.5, 'req_Ab-1.2:x/y@z+w', null, '007'],
  ];
  await db.append('INSERT INTO v (k, i, r, s, b, any) VALUES (?,?,?,?,?,?)', rows);
  const got = await db.all<Record<string, unknown>>('SELECT k, i, r, s, b, any, typeof(any) AS t FROM v ORDER BY k');
  t.same(got[0], { k: 1, i: 1_795_512_870_294, r: 0.1 + 0.2, s: "1); DROP TABLE v; --", b: Buffer.from([0, 1, 2]), any: 0, t: 'integer' }, 'text that looks like SQL is a value, fractions exact');
  t.same(got[1], { k: 2, i: -5, r: 0.0000078, s: '42', b: null, any: 12.5, t: 'real' });
  t.same(got[2], { k: 3, i: 1, r: null, s: "it's", b: null, any: 0, t: 'integer' }, 'booleans as 1/0, NaN and undefined as NULL');
  t.same(got[3], { k: 4, i: Number.MAX_SAFE_INTEGER, r: 1e300, s: '', b: Buffer.alloc(0), any: 'x', t: 'text' });
  t.same(got[4], { k: 5, i: 7, r: 1.5, s: 'req_Ab-1.2:x/y@z+w', b: null, any: '007', t: 'text' }, 'plain text stays text, digits and all');
  t.equal((await db.get<{ c: number }>('SELECT COUNT(*) AS c FROM v'))?.c, 5, 'the table is still there');
});

t.test('a new store file gets 16 KiB pages; an existing file keeps its own and still opens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-pages-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = await Db.open(join(dir, 'new'));
  t.same(await fresh.get('PRAGMA page_size'), { page_size: 16384 });
  t.same(await fresh.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
  await fresh.close();

  const { default: sqlite3 } = await import('sqlite3');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'old'));
  await new Promise<void>((resolve, reject) => {
    const raw = new sqlite3.Database(join(dir, 'old', 'switchyard.db'), (err) => (err ? reject(err) : raw.exec('PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE keep (v TEXT); INSERT INTO keep VALUES (\'x\')', (e) => (e ? reject(e) : raw.close(() => resolve())))));
  });
  const old = await Db.open(join(dir, 'old'));
  t.same(await old.get('PRAGMA page_size'), { page_size: 4096 }, 'not rewritten');
  t.same(await old.get('SELECT v FROM keep'), { v: 'x' }, 'its data is there');
  t.ok(await old.get("SELECT name FROM sqlite_master WHERE name = 'request_log'"), 'and it was migrated');
  await old.close();
});

t.test('appended batches stay out of another transaction: a rollback there does not take them with it', async (t) => {
  const db = await Db.open(':memory:');
  t.teardown(() => db.close());
  await db.exec('CREATE TABLE log (id TEXT PRIMARY KEY, n INTEGER)');
  await db.exec('CREATE TABLE other (v TEXT NOT NULL)');
  const w = new BatchWriter<[string, number]>(db, 'INSERT INTO log (id, n) VALUES (?, ?)', (r) => r, { maxRows: 100_000 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => (opened = r));
  // A transaction that is open (BEGIN done, a row written, its end pending) while the writer flushes, then fails.
  const failing = db.tx(async () => {
    await db.run('INSERT INTO other (v) VALUES (?)', ['kept only if committed']);
    opened();
    await gate;
    throw new Error('boom');
  });
  await isOpen;
  w.push(['a', 1]);
  w.push(['b', 2]);
  const flushed = w.flush();
  release();
  await t.rejects(failing, /boom/, 'the other transaction rolls back');
  await flushed;
  t.same(await db.all('SELECT id, n FROM log ORDER BY id'), [{ id: 'a', n: 1 }, { id: 'b', n: 2 }], 'the batch flushed during it is kept');
  t.same(await db.all('SELECT v FROM other'), [], 'and the rolled-back row is gone');
});

t.test('batches flushed one after another land in order: a later row with the same key wins', async (t) => {
  const db = await Db.open(':memory:');
  t.teardown(() => db.close());
  await db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)');
  const w = new BatchWriter<[string, number]>(db, 'INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', (r) => r, { maxRows: 3 });
  // 300 pushes in 3-row batches, every key written 30 times: only the last value of each may survive.
  for (let i = 0; i < 300; i++) w.push([`k${i % 10}`, i]);
  await w.flush();
  const rows = await db.all<{ k: string; v: number }>('SELECT k, v FROM kv ORDER BY k');
  t.same(rows, Array.from({ length: 10 }, (_, j) => ({ k: `k${j}`, v: 290 + j })));
});

t.test('rows still being written count against the queue bound: past it, new rows are dropped and counted', async (t) => {
  const db = await Db.open(':memory:');
  t.teardown(() => db.close());
  await db.exec('CREATE TABLE q (n INTEGER)');
  const w = new BatchWriter<number>(db, 'INSERT INTO q (n) VALUES (?)', (n) => [n], { maxRows: 100, maxQueued: 4 });
  for (let i = 0; i < 3; i++) w.push(i);
  const first = w.flush(); // 3 rows in flight: SQLite answers on a later turn of the event loop
  for (let i = 3; i < 6; i++) w.push(i);
  t.equal(w.dropped, 2, 'one more row fits under the bound of 4; two are dropped');
  await first;
  await w.flush();
  t.same(await db.all('SELECT n FROM q ORDER BY n'), [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }], 'what was accepted is written');
  w.push(6);
  await w.flush();
  t.equal(w.dropped, 2, 'once written, the room is back');
  t.equal((await db.get<{ c: number }>('SELECT COUNT(*) AS c FROM q'))?.c, 5);
});
