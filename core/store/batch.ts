import type { Db } from './db.js';

/**
 * Rows are held by count, not only by time: 64 requests allocate a small share of V8's young
 * generation, so queued rows are written and dropped before a scavenge can promote them. Held
 * for 125 ms (the old 500-row batches at 4,000 req/s) every row reached the old generation:
 * 3.6 KB promoted a request with capture on against 1.3 KB now, and after an idle spell, when
 * V8 has shrunk the heap, half as many major GCs. The interval only matters below ~256 rows/s,
 * where scavenges are seconds apart.
 */
const MAX_ROWS = 64;
const INTERVAL_MS = 250;

/**
 * Rows queued in memory and written every `intervalMs` or `maxRows`, whichever comes first,
 * as multi-row statements of up to 500 rows, each atomic: the request path only pushes to an
 * array. `flush()` on drain writes what is left, so nothing accepted is lost on a normal
 * shutdown.
 */
export class BatchWriter<R> {
  private rows: R[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Rows handed to SQLite and not written yet (copied into the binding, off the JS heap). */
  private inFlight = 0;
  dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly sql: string,
    private readonly toParams: (r: R) => unknown[],
    private readonly opts: { intervalMs?: number; maxRows?: number; maxQueued?: number; onError?: (err: unknown) => void } = {},
  ) {}

  push(row: R): void {
    // Queued and in flight together: a store that cannot keep up must not grow memory without bound.
    if (this.rows.length + this.inFlight >= (this.opts.maxQueued ?? 100_000)) {
      this.dropped++;
      return;
    }
    this.rows.push(row);
    if (this.rows.length >= (this.opts.maxRows ?? MAX_ROWS)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs ?? INTERVAL_MS);
      this.timer.unref();
    }
  }

  get pending(): number {
    return this.rows.length;
  }

  /**
   * Write everything queued so far; resolves when it is on disk (with everything flushed
   * before). The rows are handed to the store at once (Db.append): nothing queued here waits
   * for an earlier write to finish.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.rows.length) return this.writing;
    const batch = this.rows;
    this.rows = [];
    this.inFlight += batch.length;
    const written = this.db
      .append(this.sql, batch.map(this.toParams))
      .catch((err: unknown) => this.opts.onError?.(err))
      .finally(() => (this.inFlight -= batch.length));
    this.writing = Promise.all([this.writing, written]).then(() => undefined);
    return this.writing;
  }
}
