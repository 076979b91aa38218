import type { Db } from './db.js';

/**
 * Rows queued in memory and written in one transaction every `intervalMs` or `maxRows`,
 * whichever comes first: the request path only pushes to an array. `flush()` on drain
 * writes what is left, so nothing accepted is lost on a normal shutdown.
 */
export class BatchWriter<R> {
  private rows: R[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly sql: string,
    private readonly toParams: (r: R) => unknown[],
    private readonly opts: { intervalMs?: number; maxRows?: number; maxQueued?: number; onError?: (err: unknown) => void } = {},
  ) {}

  push(row: R): void {
    if (this.rows.length >= (this.opts.maxQueued ?? 100_000)) {
      this.dropped++;
      return;
    }
    this.rows.push(row);
    if (this.rows.length >= (this.opts.maxRows ?? 500)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs ?? 250);
      this.timer.unref();
    }
  }

  get pending(): number {
    return this.rows.length;
  }

  /** Write everything queued so far; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.rows;
    this.rows = [];
    this.writing = this.writing.then(async () => {
      if (!batch.length) return;
      try {
        await this.db.tx(() => this.db.runMany(this.sql, batch.map(this.toParams)));
      } catch (err) {
        this.opts.onError?.(err);
      }
    });
    return this.writing;
  }
}
