import type { Failure } from '../../attempts/failure.js';
import { retryAfterMs } from '../../attempts/retry-after.js';

interface ErrorFields {
  type?: string;
  code?: string | number | null;
  message?: string;
}

interface OpenAIErrorBody extends ErrorFields {
  error?: ErrorFields | string;
}

/**
 * `{"error":{...}}` (OpenAI), `{"error":"..."}` (Ollama), or the fields at the top level:
 * `{"object":"error","message","type","code"}` (vLLM before 0.9, Mistral).
 */
function errorFields(body: Buffer): { type: string; code: string; message: string } {
  try {
    const j = JSON.parse(body.toString('utf8')) as OpenAIErrorBody;
    const e = typeof j.error === 'object' && j.error ? j.error : typeof j.error === 'string' ? { message: j.error } : j;
    return { type: String(e.type ?? ''), code: String(e.code ?? ''), message: String(e.message ?? '') };
  } catch {
    return { type: '', code: '', message: '' };
  }
}

const QUOTA_MESSAGE = /billing|quota exceeded|exceeded your current quota/i;
// llama.cpp's server says exceed_context_size_error / "exceeds the available context size".
const CONTEXT_MESSAGE = /maximum context length|context window|available context size|too many tokens/i;

/**
 * The status an error body stands for when it arrives without an error status: a 2xx JSON error
 * answering a streamed request (proxies, some compatible servers), or an error frame inside a
 * stream. Read from `type`/`code` (vLLM puts the HTTP status in `code`), then the message. Null
 * when the body says nothing that tells a class: the caller's server_error.
 */
function impliedStatus(type: string, code: string, message: string): number | null {
  const n = Number(code);
  if (Number.isInteger(n) && n >= 400 && n <= 599) return n;
  const t = `${type} ${code}`.toLowerCase();
  if (/rate_?limit|too_many_requests/.test(t)) return 429;
  if (/overload|unavailable|capacity/.test(t)) return 503;
  if (/invalid_api_key|authentication|unauthori[sz]ed/.test(t)) return 401;
  if (/permission|forbidden|access_denied|unsupported_country/.test(t)) return 403;
  if (/not_found/.test(t)) return 404;
  if (/timeout|timed_out/.test(t)) return 408;
  if (/invalid_request|bad_request|validation|unprocessable|invalid_value|context_length|exceed_context|content_filter|content_policy/.test(t)) return 400;
  if (/server_error|internal|api_error/.test(t)) return 500;
  if (CONTEXT_MESSAGE.test(message)) return 400;
  if (/rate limit/i.test(message)) return 429;
  if (/overloaded/i.test(message)) return 503;
  return null;
}

/**
 * The error taxonomy for OpenAI-compatible upstreams. Messages name status, type and code only:
 * upstream messages can echo key fragments ("Incorrect API key provided: sk-...").
 *
 * A body under a 2xx status (an error answering a stream request with JSON) is classified by what
 * it says (impliedStatus); the failure then carries the implied status, so a request-level error
 * reaches the client as a 4xx, not as a 200 with an error inside. A 2xx body that says nothing is
 * a server_error.
 */
export function classifyOpenAI(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Failure {
  return classifyFields(status, headers, body, errorFields(body), null);
}

/** An `{"error":{...}}` frame inside an OpenAI-compatible stream, with the same taxonomy (no status, no headers). */
export function classifyOpenAIStreamError(error: unknown): Failure {
  const body = Buffer.from(JSON.stringify({ error }));
  const e = typeof error === 'object' && error ? (error as ErrorFields) : { message: String(error ?? '') };
  const fields = { type: String(e.type ?? ''), code: String(e.code ?? ''), message: String(e.message ?? '') };
  const f = classifyFields(200, {}, body, fields, `upstream stream error (${[fields.type, fields.code].filter(Boolean).join(' ') || 'unknown'})`);
  // Only a request-level error (passed through as is) keeps its implied status.
  if (f.body === undefined) f.status = null;
  f.retryAfterMs = null;
  return f;
}

function classifyFields(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, fields: { type: string; code: string; message: string }, streamLabel: string | null): Failure {
  const { type, code, message } = fields;
  const quota = code === 'insufficient_quota' || type === 'insufficient_quota' || status === 402 || QUOTA_MESSAGE.test(message);
  const what = type || code ? ` (${[type, code].filter(Boolean).join('/')})` : '';
  let label = streamLabel ?? `upstream ${status}${what}`;
  if (status < 400) {
    const implied = quota ? 402 : impliedStatus(type, code, message);
    if (implied === null) return { class: 'server_error', status, message: streamLabel ?? `upstream ${status} body is not an answer${what}`, retryAfterMs: null };
    label = streamLabel ?? `upstream ${status} with an error body${what}`;
    status = implied;
  }
  const base = { status, message: label, retryAfterMs: retryAfterMs(headers) };
  const passthrough = { ...base, body, contentType: String(headers['content-type'] ?? 'application/json') };
  if (quota) return { ...base, class: 'quota' };
  if (status === 429) return { ...base, class: 'rate_limited' };
  if (status === 401 || status === 403) return { ...base, class: 'account_auth', retryAfterMs: null };
  if (status === 408) return { ...base, class: 'timeout' };
  if (status === 503 || status === 529) return { ...base, class: 'overloaded' };
  if (status >= 500) return { ...base, class: 'server_error' };
  if (code === 'context_length_exceeded' || type === 'exceed_context_size_error' || CONTEXT_MESSAGE.test(message)) {
    return { ...passthrough, class: 'context_length' };
  }
  if (code === 'content_filter' || code === 'content_policy_violation' || type === 'content_filter') {
    return { ...passthrough, class: 'content_filter' };
  }
  return { ...passthrough, class: 'request_invalid' };
}
