/**
 * Where captures come from for a replay or an export: the data dir's `captures` table, read in
 * pages along the ts index (never the whole table in memory), a JSONL file (one Capture a line,
 * as `switchyard captures export` writes it), or captures already in memory.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Db } from '../../core/store/db.js';
import { importCaptures } from '../capture/store.js';
import type { Capture } from '../capture/types.js';
import { type CaptureRow, type CaptureSource, DryRunError, type ReplayCapture, type ReplayPage } from './types.js';

export const PAGE_SIZE = 1000;

export function arraySource(captures: readonly ReplayCapture[], pageSize = PAGE_SIZE): CaptureSource {
  return {
    total: captures.length,
    label: `${captures.length} captures`,
    async *pages() {
      for (let i = 0; i < captures.length; i += pageSize) yield { kind: 'captures', captures: captures.slice(i, i + pageSize) as ReplayCapture[] };
    },
  };
}

export async function countCaptures(db: Db, since = 0): Promise<number> {
  const r = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM captures WHERE ts >= ?', [since]);
  return r?.n ?? 0;
}

/**
 * Keyset pages in (ts, rowid) order from `since`: each page is one indexed range read, however
 * large the table. Only what replay uses leaves SQLite (json_extract runs in SQLite's thread).
 */
async function* keyset<T extends { k: number; ts: number }>(db: Db, columns: string, since: number, pageSize: number): AsyncGenerator<T[]> {
  let ts = since;
  let k = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = await db.all<T>(`SELECT rowid AS k, ts, ${columns} FROM captures WHERE ts >= ? AND (ts > ? OR rowid > ?) ORDER BY ts, rowid LIMIT ?`, [ts, ts, k, pageSize]);
    if (rows.length === 0) return;
    yield rows;
    const last = rows[rows.length - 1]!;
    ts = last.ts;
    k = last.k;
    if (rows.length < pageSize) return;
  }
}

/** Captures in the data dir from `since` (ms since epoch), for replay. */
export async function dbSource(db: Db, since = 0, pageSize = PAGE_SIZE): Promise<CaptureSource> {
  const total = await countCaptures(db, since);
  return {
    total,
    label: `${total} captures in ${db.file}`,
    async *pages(): AsyncGenerator<ReplayPage> {
      const cols = "input, json_extract(decision, '$.order') AS ord, json_extract(outcome, '$.inputTokens') AS it, json_extract(outcome, '$.outputTokens') AS ot";
      type Row = { k: number; ts: number; input: string; ord: string | null; it: number | null; ot: number | null };
      for await (const rows of keyset<Row>(db, cols, since, pageSize)) {
        const page: CaptureRow[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i]!;
          page[i] = { input: r.input, order: r.ord, it: r.it, ot: r.ot };
        }
        yield { kind: 'rows', rows: page };
      }
    },
  };
}

/** Counts lines fast (newline bytes), for the progress bar of a file replay. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let i = -1;
    while ((i = chunk.indexOf(10, i + 1)) !== -1) n++;
    last = chunk[chunk.length - 1] ?? last;
  }
  return last === 10 ? n : n + 1;
}

async function* lines(path: string, pageSize: number): AsyncGenerator<{ lines: string[]; firstLine: number }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let page: string[] = [];
  let firstLine = 1;
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (!line.trim()) continue;
    if (page.length === 0) firstLine = lineNo;
    page.push(line);
    if (page.length >= pageSize) {
      yield { lines: page, firstLine };
      page = [];
    }
  }
  if (page.length) yield { lines: page, firstLine };
}

/** A JSONL file of captures; `since` is applied by the replayer (each line carries its ts). */
export async function jsonlSource(path: string, pageSize = PAGE_SIZE): Promise<CaptureSource> {
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new DryRunError(`cannot read captures file ${path}: ${(err as Error).message}`);
  }
  const total = await countLines(path);
  return {
    total,
    label: `${path}`,
    async *pages(): AsyncGenerator<ReplayPage> {
      for await (const p of lines(path, pageSize)) yield { kind: 'lines', lines: p.lines, firstLine: p.firstLine };
    },
  };
}

/**
 * Export: one Capture per line, composed from the stored JSON text (no parse/stringify per row).
 * `write` may return a promise (stdout backpressure). Returns the number of captures written.
 */
export async function exportCaptures(db: Db, since: number, write: (chunk: string) => void | Promise<void>): Promise<number> {
  let n = 0;
  type Row = { k: number; ts: number; id: string; route: string; input: string; decision: string; outcome: string; bodies: string | null };
  for await (const rows of keyset<Row>(db, 'id, route, input, decision, outcome, bodies', since, PAGE_SIZE)) {
    let chunk = '';
    for (const r of rows) {
      chunk += `{"id":${JSON.stringify(r.id)},"ts":${r.ts},"route":${JSON.stringify(r.route)},"input":${r.input},"decision":${r.decision},"outcome":${r.outcome},"bodies":${r.bodies ?? 'null'}}\n`;
    }
    n += rows.length;
    await write(chunk);
  }
  return n;
}

/** Import a JSONL export; captures already present (same id) are left as they are. */
export async function importJsonl(db: Db, path: string): Promise<{ read: number; imported: number }> {
  let read = 0;
  let imported = 0;
  for await (const p of lines(path, PAGE_SIZE)) {
    const batch: Capture[] = p.lines.map((line, i) => {
      let c: unknown;
      try {
        c = JSON.parse(line);
      } catch {
        throw new DryRunError(`${path}:${p.firstLine + i}: not JSON`);
      }
      if (!isStorable(c)) throw new DryRunError(`${path}:${p.firstLine + i}: not a capture (expected { id, ts, route, input, decision, outcome })`);
      return c;
    });
    read += batch.length;
    imported += await importCaptures(db, batch);
  }
  return { read, imported };
}

function isStorable(c: unknown): c is Capture {
  if (!c || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  const input = o.input as Record<string, unknown> | null;
  return typeof o.id === 'string' && o.id.length > 0 && typeof o.ts === 'number' && Number.isFinite(o.ts) && typeof o.route === 'string' && !!input && typeof input === 'object' && Array.isArray(input.candidates) && !!o.decision && typeof o.decision === 'object' && !!o.outcome && typeof o.outcome === 'object';
}
