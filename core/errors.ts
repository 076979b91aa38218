import { scrub } from './access/secrets.js';

/**
 * The one catalogue of gateway-made errors. Every error the gateway itself produces is one
 * of these codes, so users can match on `error.code`. Upstream request-level errors
 * (request_invalid) are passed through as the upstream sent them and are not listed here.
 */
export interface ErrorSpec {
  status: number;
  /** OpenAI `error.type`. */
  openaiType: string;
  /** Anthropic `error.type`. */
  anthropicType: string;
}

export const ERRORS = {
  SY_ERR_INVALID_JSON: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_ERR_INVALID_REQUEST: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_ERR_UNAUTHORIZED: { status: 401, openaiType: 'invalid_request_error', anthropicType: 'authentication_error' },
  SY_ERR_FORBIDDEN: { status: 403, openaiType: 'invalid_request_error', anthropicType: 'permission_error' },
  SY_ERR_MODEL_NOT_FOUND: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error' },
  SY_ERR_NOT_FOUND: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error' },
  SY_ERR_BODY_TOO_LARGE: { status: 413, openaiType: 'invalid_request_error', anthropicType: 'request_too_large' },
  SY_ERR_HEADERS_TOO_LARGE: { status: 431, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_ERR_BUDGET_EXCEEDED: { status: 402, openaiType: 'insufficient_quota', anthropicType: 'invalid_request_error' },
  SY_ERR_RATE_LIMITED: { status: 429, openaiType: 'rate_limit_error', anthropicType: 'rate_limit_error' },
  SY_ERR_NO_CAPABLE_TARGET: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  /** Every target failed or was skipped; status is chosen from the last failure class. */
  SY_ERR_UPSTREAM_EXHAUSTED: { status: 502, openaiType: 'api_error', anthropicType: 'api_error' },
  SY_ERR_ALL_COOLING_DOWN: { status: 503, openaiType: 'api_error', anthropicType: 'overloaded_error' },
  SY_ERR_DEADLINE: { status: 504, openaiType: 'timeout_error', anthropicType: 'api_error' },
  SY_ERR_STREAM_INTERRUPTED: { status: 502, openaiType: 'api_error', anthropicType: 'api_error' },
  SY_ERR_SHUTTING_DOWN: { status: 503, openaiType: 'api_error', anthropicType: 'overloaded_error' },
  SY_ERR_PLUGIN: { status: 500, openaiType: 'api_error', anthropicType: 'api_error' },
  SY_ERR_INTERNAL: { status: 500, openaiType: 'api_error', anthropicType: 'api_error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** A gateway-made error: a code from the catalogue, a message and optional response headers. */
/** Marks a GatewayError of any copy of this module (see Symbol.hasInstance below). */
const BRAND = Symbol.for('switchyard.GatewayError');

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly param: string | null;

  constructor(code: ErrorCode, message: string, opts: { status?: number; headers?: Record<string, string>; param?: string } = {}) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.status = opts.status ?? ERRORS[code].status;
    this.headers = opts.headers ?? {};
    this.param = opts.param ?? null;
    (this as { [BRAND]?: true })[BRAND] = true;
  }

  /**
   * `instanceof GatewayError` holds for an error from another copy of the package too: a
   * community plugin installed with its own `switchyard` throws that copy's class, and its
   * deliberate rejection (a guardrail, a limit) must not be mistaken for a crash. Subclasses
   * keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](v: unknown): boolean {
    if (this !== GatewayError) return Function.prototype[Symbol.hasInstance].call(this, v);
    return typeof v === 'object' && v !== null && (v as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** The error's body in the entry protocol's own shape. */
export function renderError(err: GatewayError, protocol: 'openai' | 'anthropic'): string {
  // A code this version does not know (another copy's GatewayError) renders as an internal error's type.
  const spec = ERRORS[err.code] ?? ERRORS.SY_ERR_INTERNAL;
  const message = scrub(err.message);
  if (protocol === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: spec.anthropicType, message, code: err.code } });
  }
  return JSON.stringify({ error: { message, type: spec.openaiType, param: err.param, code: err.code } });
}
