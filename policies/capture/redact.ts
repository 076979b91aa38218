import { scrub } from '../../core/access/secrets.js';

/** Field names whose value is a credential (bodies of tool calls, MCP configs, proxies' extras). */
const SECRET_KEYS = /^(?:api[_-]?key|x-api-key|x-goog-api-key|authorization|proxy-authorization|cookie|set-cookie|token|access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret|password|passwd|secret)$/i;
/** Credentials by shape: OpenAI/Anthropic keys and bearer or basic authorization values. */
const SECRET_VALUES = /\b(sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}|(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,})/g;

/**
 * A copy of a request/response body with secret-looking fields and values masked, and every
 * secret the gateway holds (provider keys of any shape, client keys, admin tokens) scrubbed
 * from its strings: a prompt that pastes a key must not put it in the captures table.
 */
export function redactBody(v: unknown, depth = 0): unknown {
  if (depth > 64) return '[truncated]';
  if (typeof v === 'string') return scrub(v.replace(SECRET_VALUES, '[redacted]'));
  if (Array.isArray(v)) return v.map((x) => redactBody(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redactBody(x, depth + 1);
    return out;
  }
  return v;
}
