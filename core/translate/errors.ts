/**
 * Error bodies between the two protocol families. The HTTP status passes through
 * unchanged (SDKs decide retries by status); only the body is re-shaped so a client sees
 * its own protocol's error shape. Bodies from upstreams are untrusted and often not the
 * vendor's shape (Ollama `{error:"…"}`, FastAPI `{detail:"…"}`, an HTML page from a proxy).
 */
import { type AnthropicErrorBody, type OpenAIErrorBody, isRecord } from './types.js';

/** Anthropic's documented error type for an HTTP status. */
export function anthropicErrorTypeForStatus(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503:
    case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Best-effort message out of whatever the upstream sent. */
function messageOf(status: number, body: unknown): string {
  if (typeof body === 'string' && body.trim() !== '') return body.length > 500 ? `${body.slice(0, 500)}…` : body;
  if (Array.isArray(body)) return messageOf(status, body[0]); // Gemini's compat layer wraps errors in an array
  if (isRecord(body)) {
    const e = body.error;
    if (isRecord(e) && typeof e.message === 'string') return e.message;
    if (typeof e === 'string') return e;
    if (typeof body.detail === 'string') return body.detail;
    if (typeof body.message === 'string') return body.message;
  }
  return `upstream returned HTTP ${status}`;
}

function field(body: unknown, key: 'type' | 'code' | 'param'): string | null {
  const b = Array.isArray(body) ? body[0] : body;
  if (!isRecord(b) || !isRecord(b.error)) return null;
  const v = b.error[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

export function openAIErrorToAnthropic(status: number, body: unknown): AnthropicErrorBody {
  const code = field(body, 'code');
  const type = field(body, 'type');
  let anthropicType = anthropicErrorTypeForStatus(status);
  // OpenAI signals some classes in code/type rather than status (quota arrives as a 429).
  if (code === 'insufficient_quota' || type === 'insufficient_quota') anthropicType = 'billing_error';
  else if (code === 'invalid_api_key') anthropicType = 'authentication_error';
  else if (code === 'context_length_exceeded') anthropicType = 'invalid_request_error';
  return { type: 'error', error: { type: anthropicType, message: messageOf(status, body) } };
}

const TO_OPENAI: Record<string, { type: string; code: string | null }> = {
  invalid_request_error: { type: 'invalid_request_error', code: null },
  authentication_error: { type: 'invalid_request_error', code: 'invalid_api_key' },
  billing_error: { type: 'insufficient_quota', code: 'insufficient_quota' },
  permission_error: { type: 'invalid_request_error', code: 'permission_denied' },
  not_found_error: { type: 'invalid_request_error', code: 'not_found' },
  request_too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  rate_limit_error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  api_error: { type: 'server_error', code: null },
  overloaded_error: { type: 'server_error', code: 'overloaded' },
  timeout_error: { type: 'server_error', code: 'timeout' },
};

// Anthropic reports an over-long prompt as a plain invalid_request_error; OpenAI clients
// (and the gateway's error taxonomy) recognise it by code context_length_exceeded.
const CONTEXT_LENGTH = /prompt is too long|context (window|length)|too many (input )?tokens|maximum context/i;

export function anthropicErrorToOpenAI(status: number, body: unknown): OpenAIErrorBody {
  const b = isRecord(body) && isRecord(body.error) ? body.error : null;
  const anthropicType = typeof b?.type === 'string' ? b.type : anthropicErrorTypeForStatus(status);
  const message = messageOf(status, body);
  const mapped = TO_OPENAI[anthropicType] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
  const code = anthropicType === 'invalid_request_error' && CONTEXT_LENGTH.test(message) ? 'context_length_exceeded' : mapped.code;
  return { error: { message, type: mapped.type, param: null, code } };
}
