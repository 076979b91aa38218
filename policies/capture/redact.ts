const SECRET_KEYS = /^(api[_-]?key|authorization|x-api-key|token|access[_-]?token|password|secret)$/i;
const SECRET_VALUES = /\b(sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})/g;

/** A copy of a request/response body with secret-looking fields and values masked. */
export function redactBody(v: unknown, depth = 0): unknown {
  if (depth > 64) return '[truncated]';
  if (typeof v === 'string') return v.replace(SECRET_VALUES, '[redacted]');
  if (Array.isArray(v)) return v.map((x) => redactBody(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redactBody(x, depth + 1);
    return out;
  }
  return v;
}
