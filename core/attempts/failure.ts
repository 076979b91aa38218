import type { FailureClass } from '../../sdk/types.js';
import type { OpenStream } from './send.js';

/** One failed upstream attempt, classified. `body` is kept only to pass request-level errors through as is. */
export interface Failure {
  class: FailureClass;
  status: number | null;
  /** Short, secret-free description for logs and gateway error messages. */
  message: string;
  retryAfterMs: number | null;
  /** Upstream error body, for classes the client sees as is (request_invalid, content_filter, context_length). */
  body?: Buffer;
  contentType?: string;
  /**
   * A stream refused by the upstream's content filter before any content (failed over under
   * on_content_filter: fallback): the whole refusal, read to its end and ready to replay. The
   * attempt loop serves it when the chain ends on this failure, as a non-stream refusal's body is.
   */
  refusal?: { stream: OpenStream; ttfbMs: number };
}

/** Classes that are about the request itself: returned to the client as the upstream sent them. */
export const PASSTHROUGH_CLASSES: ReadonlySet<FailureClass> = new Set(['request_invalid', 'content_filter', 'context_length']);
/** The same classes as plugins see them: a failure of the request, which says nothing about the target's health. */
export const isRequestLevel = (cls: FailureClass): boolean => PASSTHROUGH_CLASSES.has(cls);

/** Map a transport error (undici / Node socket) to a failure class. */
export function classifyTransportError(err: unknown): Failure {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? e?.name ?? 'ERROR';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return { class: 'timeout', status: null, message: `upstream timeout (${code})`, retryAfterMs: null };
  }
  return { class: 'connect_error', status: null, message: `upstream connection failed (${code})`, retryAfterMs: null };
}
