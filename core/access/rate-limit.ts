import { msUntilFits, slidingCount, WINDOW_MS, type BucketState, type CounterStore, type TakeResult } from './counters.js';

/** A limit a request is admitted against: requests or tokens per minute of one scope. */
export interface Limit {
  kind: 'requests' | 'tokens';
  /** Human name of the scope for messages: `key team-a`, `route workhorse`, `target ...`. */
  scope: string;
  bucket: string;
  limit: number;
  amount: number;
}

export interface Admission {
  allowed: boolean;
  /** Units that can never fit (a request larger than a tokens-per-minute limit). */
  tooLarge: boolean;
  /** `x-ratelimit-*` headers (the tightest limit of each kind) and, when refused, `retry-after`. */
  headers: Record<string, string>;
  retryAfterMs: number;
  /** The refused limits, for the message. */
  refused: Limit[];
  window: number;
}

/** Durations the way OpenAI writes them in x-ratelimit-reset-*: "1s", "6m0s", "250ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

function remaining(b: BucketState, elapsedMs: number): number {
  return Math.max(0, Math.floor(b.limit - slidingCount(b.curr, b.prev, elapsedMs)));
}

/** Headers for the tightest limit of each kind. */
function rateHeaders(limits: Limit[], r: TakeResult): Record<string, string> {
  const h: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    let best: { b: BucketState; rem: number } | null = null;
    r.buckets.forEach((b, i) => {
      if (limits[i].kind !== kind) return;
      const rem = remaining(b, r.elapsedMs);
      if (!best || rem < best.rem || (rem === best.rem && b.limit < best.b.limit)) best = { b, rem };
    });
    if (!best) continue;
    const { b, rem } = best as { b: BucketState; rem: number };
    // When the next unit fits again (or the window rolls over while there is room).
    const reset = rem > 0 ? WINDOW_MS - r.elapsedMs : msUntilFits(b.curr, b.prev, r.elapsedMs, b.limit, 1);
    h[`x-ratelimit-limit-${kind}`] = String(b.limit);
    h[`x-ratelimit-remaining-${kind}`] = String(rem);
    h[`x-ratelimit-reset-${kind}`] = formatDuration(Number.isFinite(reset) ? reset : WINDOW_MS);
  }
  return h;
}

/** Check-and-charge a request against its limits: all of them, or none. */
export async function admit(store: CounterStore, limits: Limit[], now: number): Promise<Admission> {
  const r = await store.take(limits.map((l) => ({ bucket: l.bucket, limit: l.limit, amount: l.amount })), now);
  const headers = rateHeaders(limits, r);
  if (r.allowed) return { allowed: true, tooLarge: false, headers, retryAfterMs: 0, refused: [], window: r.window };
  const refused: Limit[] = [];
  let wait = 0;
  let tooLarge = false;
  r.buckets.forEach((b, i) => {
    const ms = msUntilFits(b.curr, b.prev, r.elapsedMs, b.limit, b.amount);
    if (ms === 0) return;
    refused.push(limits[i]);
    if (!Number.isFinite(ms)) tooLarge = true;
    else wait = Math.max(wait, ms);
  });
  if (tooLarge) wait = WINDOW_MS;
  headers['retry-after'] = String(Math.max(1, Math.ceil(wait / 1000)));
  headers['retry-after-ms'] = String(Math.max(1, Math.ceil(wait)));
  return { allowed: false, tooLarge, headers, retryAfterMs: wait, refused, window: r.window };
}
