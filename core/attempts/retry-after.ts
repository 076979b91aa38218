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
 * How long the upstream asked us to wait, in ms, or null. Honours `retry-after-ms`,
 * `retry-after` (seconds or HTTP date), and the rate-limit reset headers OpenAI
 * (`x-ratelimit-reset-requests|tokens`: durations) and Anthropic
 * (`anthropic-ratelimit-*-reset`: RFC 3339 times) send.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = first(headers['retry-after']);
  if (ra !== undefined && ra.trim() !== '') {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
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
  return best;
}
