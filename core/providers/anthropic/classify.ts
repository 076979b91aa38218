import type { Failure } from '../../attempts/failure.js';
import { retryAfterMs } from '../../attempts/retry-after.js';

/** `{"type":"error","error":{"type","message"}}`, Anthropic's error body; tolerant of anything else. */
export function anthropicErrorFields(body: Buffer | string): { type: string; message: string } {
  try {
    const j = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as { error?: { type?: unknown; message?: unknown } | string; message?: unknown };
    const e = typeof j?.error === 'object' && j.error ? j.error : null;
    return { type: String(e?.type ?? ''), message: String(e?.message ?? (typeof j?.error === 'string' ? j.error : j?.message ?? '')) };
  } catch {
    return { type: '', message: '' };
  }
}

const CREDIT = /credit balance|billing|purchase credits|spend limit/i;
const TOO_LONG = /prompt is too long|context window|too many (input )?tokens|maximum context/i;

/** The status each Anthropic error type is sent with (docs: errors), for error bodies that arrive under a 2xx. */
const IMPLIED_STATUS = new Map<string, number>([
  ['invalid_request_error', 400],
  ['authentication_error', 401],
  ['billing_error', 402],
  ['permission_error', 403],
  ['not_found_error', 404],
  ['request_too_large', 413],
  ['rate_limit_error', 429],
  ['api_error', 500],
  ['timeout_error', 504],
  ['overloaded_error', 529],
]);

/**
 * The error taxonomy for Anthropic Messages upstreams (status + `error.type`):
 * 529/503 overloaded_error → overloaded; 429 rate_limit_error → rate_limited (retry-after and
 * anthropic-ratelimit-*-reset honoured); billing_error / 402 / "credit balance is too low"
 * (a 400) → quota; 401/403 → account_auth; 504 timeout_error and 408 → timeout;
 * 400 "prompt is too long" → context_length;
 * other 4xx → request_invalid; other 5xx → server_error. Messages name status and type
 * only: upstream messages can echo request content.
 */
export function classifyAnthropic(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Failure {
  const { type, message } = anthropicErrorFields(body);
  let label = `upstream ${status}${type ? ` (${type})` : ''}`;
  if (status < 400) {
    // An error body under a 2xx (a proxy answering a stream request with JSON): classed by what
    // it says, with the status its type stands for; a body that says nothing is a server_error.
    const implied = IMPLIED_STATUS.get(type) ?? (CREDIT.test(message) ? 402 : TOO_LONG.test(message) ? 400 : null);
    if (implied == null) return { class: 'server_error', status, message: `upstream ${status} body is not an answer${type ? ` (${type})` : ''}`, retryAfterMs: null };
    label = `upstream ${status} with an error body (${type || 'error'})`;
    status = implied;
  }
  const base = { status, message: label, retryAfterMs: retryAfterMs(headers) };
  const passthrough = { ...base, body, contentType: String(headers['content-type'] ?? 'application/json') };
  if (type === 'billing_error' || status === 402 || (status < 500 && CREDIT.test(message))) return { ...base, class: 'quota' };
  if (status === 529 || status === 503 || type === 'overloaded_error') return { ...base, class: 'overloaded' };
  if (status === 429 || type === 'rate_limit_error') return { ...base, class: 'rate_limited' };
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') return { ...base, class: 'account_auth', retryAfterMs: null };
  // timeout_error comes as a 504 (docs): a timeout, falling back like the stream's error event,
  // not a server_error retried on the target that just ran out of time.
  if (status === 408 || type === 'timeout_error') return { ...base, class: 'timeout' };
  if (status >= 500) return { ...base, class: 'server_error' };
  if (TOO_LONG.test(message)) return { ...passthrough, class: 'context_length' };
  return { ...passthrough, class: 'request_invalid' };
}

/** A failure reported inside an Anthropic stream (`event: error`), before content was sent. */
export function anthropicStreamFailure(type: string, message: string): Failure {
  const label = `upstream stream error (${type || 'unknown'})`;
  const base = { status: null, message: label, retryAfterMs: null };
  switch (type) {
    case 'overloaded_error': return { ...base, class: 'overloaded' };
    case 'rate_limit_error': return { ...base, class: 'rate_limited' };
    case 'billing_error': return { ...base, class: 'quota' };
    case 'authentication_error':
    case 'permission_error': return { ...base, class: 'account_auth' };
    case 'timeout_error': return { ...base, class: 'timeout' };
    case 'invalid_request_error':
    case 'request_too_large':
    case 'not_found_error': {
      const body = Buffer.from(JSON.stringify({ type: 'error', error: { type, message } }));
      return { ...base, class: TOO_LONG.test(message) ? 'context_length' : 'request_invalid', body, contentType: 'application/json' };
    }
    default: return { ...base, class: 'server_error' };
  }
}
