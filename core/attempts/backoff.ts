/**
 * Full-jitter exponential backoff (AWS architecture blog): a random wait in
 * [0, min(cap, base * 2^n)]. An upstream Retry-After wins when it is known and not above the cap.
 */
export function backoffMs(retryIndex: number, random: number, opts: { baseMs?: number; capMs?: number; retryAfterMs?: number | null } = {}): number {
  const base = opts.baseMs ?? 100;
  const cap = opts.capMs ?? 2000;
  if (opts.retryAfterMs != null) return Math.min(opts.retryAfterMs, cap);
  return Math.floor(random * Math.min(cap, base * 2 ** retryIndex));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
