import type { IncomingHttpHeaders } from 'node:http';

type Headers = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Parse OpenAI-style reset durations such as "1s", "6m0s", "20ms", "1h2m3.5s". */
function parseDuration(s: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = false;
  for (const m of s.matchAll(re)) {
    matched = true;
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return matched ? total : null;
}

/**
 * Upper bound on a parsed wait: a day. Past it a value is junk (or a monthly reset no one waits
 * for), and "1e+23" would otherwise end up as the gateway's own Retry-After header.
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** RFC 9110 HTTP-date shapes (IMF-fixdate, RFC 850, asctime) all start with a day name and hold a time of day. */
const HTTP_DATE = /^[A-Za-z]{3,9},?\s.*\b\d{1,2}:\d{2}:\d{2}\b/;

/** A wait in ms, or null for junk: negative or non-finite numbers mean nothing. */
function wait(ms: number): number | null {
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : null;
}

/**
 * How long the upstream asked us to wait, in ms, or null. Honours `retry-after-ms`,
 * `retry-after` (seconds or HTTP date), and the rate-limit reset headers OpenAI
 * (`x-ratelimit-reset-requests|tokens`: durations) and Anthropic
 * (`anthropic-ratelimit-*-reset`: RFC 3339 times) send. Values that parse to nothing sane
 * are ignored (V8's Date.parse reads "soon 12" as a date in 2001, i.e. "retry now").
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && ms.trim() !== '') {
    const w = wait(Number(ms));
    if (w !== null) return w;
  }
  const ra = first(headers['retry-after'])?.trim();
  if (ra) {
    const secs = Number(ra);
    if (!Number.isNaN(secs)) {
      const w = wait(secs * 1000);
      if (w !== null) return w;
    } else if (HTTP_DATE.test(ra)) {
      const at = Date.parse(ra);
      if (!Number.isNaN(at)) return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
    }
  }
  let best: number | null = null;
  for (const h of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const v = first(headers[h]);
    const d = v ? parseDuration(v) : null;
    if (d !== null) best = best === null ? d : Math.max(best, d);
  }
  for (const h of ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-reset', 'anthropic-ratelimit-input-tokens-reset', 'anthropic-ratelimit-output-tokens-reset']) {
    const v = first(headers[h]);
    const at = v ? Date.parse(v) : NaN;
    if (!Number.isNaN(at)) best = best === null ? Math.max(0, at - now) : Math.max(best, at - now);
  }
  return best === null ? null : Math.min(best, MAX_RETRY_AFTER_MS);
}
