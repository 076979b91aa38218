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

/**
 * The error taxonomy for OpenAI-compatible upstreams. Messages name status, type and code only:
 * upstream messages can echo key fragments ("Incorrect API key provided: sk-...").
 */
export function classifyOpenAI(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Failure {
  const { type, code, message } = errorFields(body);
  const label = `upstream ${status}${type || code ? ` (${[type, code].filter(Boolean).join('/')})` : ''}`;
  const base = { status, message: label, retryAfterMs: retryAfterMs(headers) };
  const passthrough = { ...base, body, contentType: String(headers['content-type'] ?? 'application/json') };
  if (code === 'insufficient_quota' || type === 'insufficient_quota' || status === 402 || /billing|quota exceeded|exceeded your current quota/i.test(message)) {
    return { ...base, class: 'quota' };
  }
  if (status === 429) return { ...base, class: 'rate_limited' };
  if (status === 401 || status === 403) return { ...base, class: 'account_auth', retryAfterMs: null };
  if (status === 408) return { ...base, class: 'timeout' };
  if (status === 503 || status === 529) return { ...base, class: 'overloaded' };
  if (status >= 500) return { ...base, class: 'server_error' };
  // llama.cpp's server says exceed_context_size_error / "exceeds the available context size".
  if (code === 'context_length_exceeded' || type === 'exceed_context_size_error' || /maximum context length|context window|available context size|too many tokens/i.test(message)) {
    return { ...passthrough, class: 'context_length' };
  }
  if (code === 'content_filter' || code === 'content_policy_violation' || type === 'content_filter') {
    return { ...passthrough, class: 'content_filter' };
  }
  return { ...passthrough, class: 'request_invalid' };
}
