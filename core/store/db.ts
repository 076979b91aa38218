import sqlite3 from 'sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.js';

export type Row = Record<string, unknown>;

/** `INSERT … VALUES (?, ?, …)`: prefix and the one parameter group. */
const MULTI_ROW = /^(\s*INSERT\b[\s\S]*\bVALUES\s*)(\(\s*\?(?:\s*,\s*\?)*\s*\))\s*;?\s*$/i;
/**
 * A value as an SQL literal, or null when it must be bound. Only values whose text cannot carry
 * SQL and reads back exactly: safe integers, booleans (1/0, as the binding does),
 * null/undefined (NULL) and plain text. Fractions are bound (SQLite's decimal parse is one ulp
 * off for ~1 in 20,000 random doubles, checked on 3.52), as are other strings, buffers and
 * anything else.
 */
function literal(v: unknown): string | null {
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) ? String(v) : null;
    case 'boolean':
      return v ? '1' : '0';
    case 'undefined':
      return 'NULL';
    case 'object':
      return v === null ? 'NULL' : null;
    case 'string':
      return PLAIN_TEXT.test(v) ? `'${v}'` : null;
    default:
      return null;
  }
}

/**
 * Short text of word characters and a few separators (ids, route names, modes, classes): no
 * quote can appear, so as a '…' literal it reads back exactly. Everything else is bound.
 */
const PLAIN_TEXT = /^[\w.:/@+-]{1,128}$/;

/** Bound parameters per statement: SQLite's default limit is 32,766. */
const MAX_PARAMS = 30_000;

/**
 * `rows` as multi-row statements of up to 500 rows, or null when `sql` is not a plain
 * `INSERT … VALUES (?,…)` of the rows' width: sqlite3 queues every statement call to the thread
 * pool, so one call per row costs more CPU than the insert itself. Integers, booleans, nulls
 * and plain text are written into the statement as literals and only fractions, other strings
 * and buffers are bound: the sqlite3 binding converts each bound value through N-API, ~0.3 µs
 * each (a request-log row: 15 → 7.5 µs of CPU in all with numbers as literals; plain text as
 * well, 12.4 → 10.7 µs on a slower host, measured by a batch-insert microbenchmark).
 */
function multiRow(sql: string, rows: unknown[][]): { text: string; params: unknown[] }[] | null {
  const m = MULTI_ROW.exec(sql);
  if (!m || !rows.length) return null;
  const width = rows[0].length;
  if ((m[2].match(/\?/g) ?? []).length !== width) return null;
  const perChunk = Math.max(1, Math.min(500, Math.floor(MAX_PARAMS / width)));
  const chunks: { text: string; params: unknown[] }[] = [];
  for (let i = 0; i < rows.length; i += perChunk) {
    const params: unknown[] = [];
    let text = m[1];
    const end = Math.min(rows.length, i + perChunk);
    for (let r = i; r < end; r++) {
      const row = rows[r];
      text += r === i ? '(' : ',(';
      for (let c = 0; c < width; c++) {
        if (c) text += ',';
        const lit = literal(row[c]);
        if (lit === null) {
          text += '?';
          params.push(row[c]);
        } else text += lit;
      }
      text += ')';
    }
    chunks.push({ text, params });
  }
  return chunks;
}

/**
 * The embedded store: one SQLite file under the data dir. sqlite3 runs queries on libuv's
 * thread pool, so nothing here blocks the event loop. WAL mode lets the CLI read and write
 * while a gateway runs on the same file.
 */
export class Db {
  private constructor(private readonly db: sqlite3.Database, readonly file: string) {}

  static async open(dataDir: string | ':memory:'): Promise<Db> {
    let file = ':memory:';
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true });
      file = join(dataDir, 'switchyard.db');
    }
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
    });
    const db = new Db(raw, file);
    raw.configure('busyTimeout', 5000);
    // 16 KiB pages for a new file (an existing one keeps its own): the request log and captures
    // append ~2 KB a request, and a commit writes one WAL frame per page, so larger pages mean
    // fewer writes (~1 µs of CPU a request less in a batch-insert microbenchmark).
    await db.exec('PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;');
    await db.migrate();
    return db;
  }

  private async migrate(): Promise<void> {
    await this.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = await this.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
    const current = row?.v ?? 0;
    for (let i = current; i < MIGRATIONS.length; i++) {
      await this.exec(`BEGIN IMMEDIATE; ${MIGRATIONS[i]}; INSERT INTO schema_version (version) VALUES (${i + 1}); COMMIT;`).catch(async (err) => {
        await this.exec('ROLLBACK').catch(() => {});
        // Another process migrated first: fine if the version is there now.
        const again = await this.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
        if ((again?.v ?? 0) <= i) throw err;
      });
    }
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  run(sql: string, params: unknown[] = []): Promise<{ changes: number; lastID: number }> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  }

  /**
   * Append rows (the request log, captures) outside any transaction: each multi-row statement of
   * up to 500 rows is atomic by itself, so a BEGIN/COMMIT pair (two exclusive trips through the
   * thread pool) buys nothing; dropping it cut a 250-row batch from 18.8 to 14.3 µs of CPU a row
   * (a microbenchmark of capture rows). The binding copies every bound value when a statement
   * is issued, and every statement is issued before this returns: the caller's rows are garbage
   * at once instead of waiting for the thread pool, so they die young instead of being promoted
   * to the old generation (which had made major GCs ~10× as frequent after an idle spell).
   * Statements run in the order issued (serialize), so a later row with the same key wins.
   * While a transaction of this connection is open, this waits: a statement issued between its
   * BEGIN and COMMIT would join it and share its fate.
   */
  append(sql: string, rows: unknown[][]): Promise<void> {
    if (!rows.length) return Promise.resolve();
    if (this.txOpen) return this.txQueue.then(() => this.append(sql, rows));
    const chunks = multiRow(sql, rows);
    if (!chunks) return this.tx(() => this.runEach(sql, rows));
    const done: Promise<unknown>[] = [];
    this.db.serialize(() => {
      for (const c of chunks) done.push(this.run(c.text, c.params));
    });
    return Promise.all(done).then(() => undefined);
  }

  private runEach(sql: string, rows: unknown[][]): Promise<void> {
    return new Promise((resolve, reject) => {
      const stmt = this.db.prepare(sql, (err) => {
        if (err) return reject(err);
        let failed: Error | null = null;
        for (const params of rows) stmt.run(params, (e: Error | null) => (failed ??= e));
        stmt.finalize((e) => (failed ?? e ? reject(failed ?? e) : resolve()));
      });
    });
  }

  get<T = Row>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined))));
  }

  all<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  private txQueue: Promise<unknown> = Promise.resolve();
  /** A transaction of this connection is between BEGIN and its end (append waits for it). */
  private txOpen = 0;

  /**
   * Run `fn` inside one IMMEDIATE transaction (atomic pointer moves, capture imports).
   * Transactions on this connection are queued: SQLite has one transaction per connection.
   */
  tx<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.txOpen++;
      try {
        await this.exec('BEGIN IMMEDIATE');
        try {
          const r = await fn();
          await this.exec('COMMIT');
          return r;
        } catch (err) {
          await this.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      } finally {
        this.txOpen--;
      }
    };
    const p = this.txQueue.then(run, run);
    this.txQueue = p.catch(() => {});
    return p;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}
