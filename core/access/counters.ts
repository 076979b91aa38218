/**
 * Rate-limit and budget counters behind one small interface, so replicas can share them
 * (RedisCounterStore) or a single process keeps them in memory (MemoryCounterStore).
 *
 * Rate limits use a sliding-window counter: per bucket, the count of the current one-minute
 * window and of the previous one; the estimate is `prev × (share of the previous window
 * still inside the last minute) + curr`. It smooths the double burst a fixed window allows
 * at the boundary, and needs only two integers per bucket.
 */

export const WINDOW_MS = 60_000;

/** One limit to check: `amount` more units must fit under `limit` in `bucket`. */
export interface LimitCheck {
  bucket: string;
  limit: number;
  amount: number;
}

export interface BucketState extends LimitCheck {
  /** Count of the current window (after the take, when allowed). */
  curr: number;
  /** Count of the previous window. */
  prev: number;
}

export interface TakeResult {
  /** All checks fitted and every bucket was charged; otherwise none was. */
  allowed: boolean;
  /** Index of the current window (floor(now / WINDOW_MS)). */
  window: number;
  /** Milliseconds into the current window. */
  elapsedMs: number;
  buckets: BucketState[];
}

export interface CounterStore {
  /** All-or-nothing sliding-window check-and-charge of several buckets. */
  take(checks: LimitCheck[], now: number): Promise<TakeResult>;
  /** Settle a bucket charged in `window` by `delta` (negative refunds). */
  adjust(bucket: string, window: number, delta: number): Promise<void>;
  /** Add to a running total (budgets) that expires at `expiresAt` (ms epoch); the new total. */
  addTotal(key: string, amount: number, expiresAt: number): Promise<number>;
  getTotal(key: string): Promise<number>;
  close(): Promise<void>;
}

export function windowOf(now: number): { window: number; elapsedMs: number } {
  const window = Math.floor(now / WINDOW_MS);
  return { window, elapsedMs: now - window * WINDOW_MS };
}

/** The sliding-window estimate of units used in the last minute. */
export function slidingCount(curr: number, prev: number, elapsedMs: number): number {
  return (prev * (WINDOW_MS - elapsedMs)) / WINDOW_MS + curr;
}

/**
 * Milliseconds until `amount` more units fit under `limit`, assuming no other traffic;
 * Infinity when they never can (amount > limit).
 */
export function msUntilFits(curr: number, prev: number, elapsedMs: number, limit: number, amount: number): number {
  if (amount > limit) return Infinity;
  if (slidingCount(curr, prev, elapsedMs) + amount <= limit) return 0;
  const W = WINDOW_MS;
  // Later in this window: prev × (W - t) / W + curr + amount <= limit.
  const room = limit - curr - amount;
  if (room >= 0 && prev > 0) {
    const t = W - (room * W) / prev;
    if (t < W) return Math.max(0, Math.ceil(t - elapsedMs));
  }
  // In the next window curr becomes prev: curr × (W - t) / W + amount <= limit.
  const t2 = curr > 0 ? Math.max(0, W - ((limit - amount) * W) / curr) : 0;
  return Math.ceil(W - elapsedMs + t2);
}

interface MemBucket {
  window: number;
  curr: number;
  prev: number;
}

/** One process's counters. */
export class MemoryCounterStore implements CounterStore {
  private readonly buckets = new Map<string, MemBucket>();
  private readonly totals = new Map<string, { value: number; expiresAt: number }>();

  private bucket(name: string, window: number): MemBucket {
    let b = this.buckets.get(name);
    if (!b) this.buckets.set(name, (b = { window, curr: 0, prev: 0 }));
    if (b.window !== window) {
      b.prev = b.window === window - 1 ? b.curr : 0;
      b.curr = 0;
      b.window = window;
    }
    return b;
  }

  async take(checks: LimitCheck[], now: number): Promise<TakeResult> {
    const { window, elapsedMs } = windowOf(now);
    const bs = checks.map((c) => this.bucket(c.bucket, window));
    const allowed = checks.every((c, i) => slidingCount(bs[i].curr, bs[i].prev, elapsedMs) + c.amount <= c.limit);
    if (allowed) checks.forEach((c, i) => (bs[i].curr += c.amount));
    return { allowed, window, elapsedMs, buckets: checks.map((c, i) => ({ ...c, curr: bs[i].curr, prev: bs[i].prev })) };
  }

  async adjust(bucket: string, window: number, delta: number): Promise<void> {
    const b = this.buckets.get(bucket);
    if (!b) return;
    if (b.window === window) b.curr = Math.max(0, b.curr + delta);
    else if (b.window === window + 1) b.prev = Math.max(0, b.prev + delta);
  }

  async addTotal(key: string, amount: number, expiresAt: number): Promise<number> {
    const now = Date.now();
    let t = this.totals.get(key);
    if (!t || t.expiresAt <= now) this.totals.set(key, (t = { value: 0, expiresAt }));
    t.value += amount;
    if (this.totals.size > 10_000) for (const [k, v] of this.totals) if (v.expiresAt <= now) this.totals.delete(k);
    return t.value;
  }

  async getTotal(key: string): Promise<number> {
    const t = this.totals.get(key);
    return t && t.expiresAt > Date.now() ? t.value : 0;
  }

  async close(): Promise<void> {}
}
