import { EventEmitter } from 'node:events';
import type { Exchange, StreamTranslator, Usage } from '../providers/types.js';
import type { Target } from '../routing/table.js';
import type { RequestContext } from '../pipeline/context.js';
import { SseParser, type SseEvent } from '../streaming/sse.js';
import { classifyTransportError, type Failure } from './failure.js';
import { GatewayError, renderError } from '../errors.js';
import { requestBuffered } from './buffered.js';
import { requestStreamed, type StreamedResponse, type UpstreamBody } from './streamed.js';

/** Lifecycle frames held before the first content frame are capped; past this we commit. */
const HOLD_CAP_BYTES = 64 * 1024;
const ERROR_BODY_CAP = 256 * 1024;

/** A stream whose first content frame has arrived: ready to be committed to the client. */
export interface OpenStream {
  /** Frames to send first (held lifecycle frames + the first content frame). */
  head: string;
  /** Events already read from the upstream but not yet translated. */
  pending: SseEvent[];
  /** True when the upstream already finished (done frame seen while holding). */
  finished: boolean;
  translator: StreamTranslator;
  /** Next batch of upstream events; null at end of stream. Throws on transport errors and timeouts. */
  next(): Promise<SseEvent[] | null>;
  /** Stop the upstream call (client gone, failure), or with `completed` let it finish quietly. */
  close(completed?: boolean): void;
  /** Why the upstream read was aborted, if it was. */
  abortReason(): 'client' | 'deadline' | 'idle' | null;
}

export type AttemptResult =
  | { ok: true; kind: 'json'; body: Buffer | string; usage: Usage | null; ttfbMs: number }
  | { ok: true; kind: 'stream'; stream: OpenStream; ttfbMs: number }
  | { ok: false; failure: Failure; aborted: 'client' | 'deadline' | null };

async function readCapped(body: UpstreamBody, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (let c = await body.next(); c !== null; c = await body.next()) {
    size += c.length;
    if (size > cap) {
      body.destroy();
      break;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * One upstream try. Owns the per-attempt timers: time to first content (route timeout_ms)
 * and, once content flows, the idle gap between frames (route idle_timeout_ms). The
 * request-wide deadline and client disconnect arrive through ctx.abort.
 */
export async function sendAttempt(ctx: RequestContext, target: Target, exchange: Exchange, stream: boolean, cancel?: AbortSignal): Promise<AttemptResult> {
  const route = ctx.route;
  const provider = target.provider;
  const t0 = performance.now();
  // undici takes an EventEmitter as a signal: a fraction of an AbortController's cost per attempt.
  const abort = new EventEmitter();
  const ac = { abort: () => abort.emit('abort') };
  let why: 'timeout' | 'client' | 'deadline' | 'idle' | null = null;
  const onParent = () => {
    why ??= ctx.abort.reason ?? 'client';
    ac.abort();
  };
  if (ctx.abort.reason) return { ok: false, failure: { class: 'timeout', status: null, message: 'request deadline reached', retryAfterMs: null }, aborted: ctx.abort.reason };
  ctx.abort.on(onParent);
  // A hedged race's loser is cancelled by the winner.
  const onCancel = () => {
    why ??= 'client';
    ac.abort();
  };
  cancel?.addEventListener('abort', onCancel);
  let firstContent: NodeJS.Timeout | undefined = setTimeout(() => {
    why ??= 'timeout';
    ac.abort();
  }, route.timeoutMs);
  let handedOff = false;
  const cleanup = () => {
    clearTimeout(firstContent);
    firstContent = undefined;
    ctx.abort.off(onParent);
    cancel?.removeEventListener('abort', onCancel);
  };

  const failed = (failure: Failure): AttemptResult => ({ ok: false, failure, aborted: cancel?.aborted ? null : why === 'client' || why === 'deadline' ? why : null });
  const whyFailure = (err: unknown): Failure => {
    if (why === 'timeout') return { class: 'timeout', status: null, message: `no first content within ${route.timeoutMs} ms`, retryAfterMs: null };
    if (why === 'deadline') return { class: 'timeout', status: null, message: `request deadline of ${route.deadlineMs} ms reached`, retryAfterMs: null };
    if (cancel?.aborted) return { class: 'timeout', status: null, message: 'hedge lost: another target answered first', retryAfterMs: null };
    if (why === 'client') return { class: 'timeout', status: null, message: 'client disconnected', retryAfterMs: null };
    return classifyTransportError(err);
  };

  let call: ReturnType<Exchange['request']>;
  try {
    call = exchange.request(ctx.body, target, ctx.headers);
  } catch (err) {
    // A body the exchange cannot translate is the client's problem: a 400 in its own shape, no fallback.
    cleanup();
    const ge = new GatewayError('SY_ERR_INVALID_REQUEST', `request body cannot be translated for this target: ${String((err as Error)?.message ?? err).slice(0, 200)}`);
    return failed({ class: 'request_invalid', status: 400, message: 'request body cannot be translated', retryAfterMs: null, body: Buffer.from(renderError(ge, ctx.protocol)), contentType: 'application/json' });
  }
  const opts = {
    path: provider.basePath + call.path,
    method: 'POST' as const,
    headers: call.headers ? { ...provider.headers, ...call.headers } : provider.headers,
    body: call.body,
    // A stream's idle gap is timed from its first content (UpstreamBody.watchIdle); until then timeout_ms bounds it.
    bodyTimeout: stream ? 0 : route.idleTimeoutMs,
  };
  if (!stream) {
    try {
      // For a non-stream answer the first byte is the headers: the idle timer covers the body.
      const whole = await requestBuffered(provider.pool, opts, abort, ERROR_BODY_CAP, () => clearTimeout(firstContent));
      if (whole.statusCode >= 400) return failed(provider.adapter.classify(whole.statusCode, whole.headers, whole.body));
      const contentType = String(whole.headers['content-type'] ?? '');
      try {
        if (!contentType.includes('json')) throw new Error(`content-type ${contentType || 'missing'}`);
        const decoded = exchange.response(whole.body, target, route.model, ctx.body);
        if (decoded.contentFiltered && route.onContentFilter === 'fallback') {
          // The refusal as the client's protocol sees it (decoded), in case it is returned as is.
          const body = typeof decoded.body === 'string' ? Buffer.from(decoded.body) : decoded.body;
          return failed({ class: 'content_filter', status: whole.statusCode, message: 'upstream refused (content filter)', retryAfterMs: null, body, contentType });
        }
        return { ok: true, kind: 'json', body: decoded.body, usage: decoded.usage, ttfbMs: performance.now() - t0 };
      } catch (err) {
        return failed({ class: 'server_error', status: whole.statusCode, message: `upstream sent an invalid ${whole.statusCode} body (${(err as Error).message})`, retryAfterMs: null });
      }
    } catch (err) {
      return failed(whyFailure(err));
    } finally {
      cleanup();
    }
  }

  let res: StreamedResponse;
  try {
    res = await requestStreamed(provider.pool, opts, abort);
  } catch (err) {
    cleanup();
    return failed(whyFailure(err));
  }

  try {
    if (res.statusCode >= 400 || res.statusCode < 200) {
      const body = await readCapped(res.body, ERROR_BODY_CAP);
      return failed(provider.adapter.classify(res.statusCode, res.headers, body));
    }
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      res.body.destroy();
      return failed({ class: 'server_error', status: res.statusCode, message: `upstream answered a stream request with ${contentType || 'no content-type'}`, retryAfterMs: null });
    }
    const includeUsage = ctx.body.stream_options != null && (ctx.body.stream_options as { include_usage?: boolean }).include_usage === true;
    const translator = exchange.stream(target, route.model, includeUsage, { body: ctx.body, estimatedInputTokens: ctx.summary.estimatedInputTokens });
    const parser = new SseParser();
    const body = res.body;
    let head = '';
    for (;;) {
      const value = await body.next();
      const done = value === null;
      const events = done ? parser.flush() : parser.push(value);
      for (let i = 0; i < events.length; i++) {
        const v = translator.frame(events[i].event, events[i].data);
        if (v.kind === 'error') {
          // The upstream may keep generating after its error frame: stop the call, free the connection.
          body.destroy();
          return failed(v.failure!);
        }
        if (v.kind === 'skip') continue;
        head += v.out ?? '';
        if (v.kind === 'lifecycle' && head.length <= HOLD_CAP_BYTES) continue;
        // First content (or a done frame, or too much held): commit this attempt.
        clearTimeout(firstContent);
        body.watchIdle(route.idleTimeoutMs);
        handedOff = true;
        const ttfbMs = performance.now() - t0;
        const open: OpenStream = {
          head,
          pending: events.slice(i + 1),
          finished: v.kind === 'done',
          translator,
          next: async () => {
            const chunk = await body.next();
            if (chunk === null) {
              const rest = parser.flush();
              return rest.length ? rest : null;
            }
            return parser.push(chunk);
          },
          close: (completed = false) => {
            cleanup();
            if (body.destroyed) return;
            // A finished stream is drained, not destroyed: no abort error to build, and the
            // connection goes back to the pool.
            if (completed) body.drain();
            else body.destroy();
          },
          abortReason: () => (why === 'timeout' ? null : why),
        };
        if (done) open.next = async () => null;
        return { ok: true, kind: 'stream', stream: open, ttfbMs };
      }
      if (done) {
        const end = translator.end();
        return failed({ class: 'server_error', status: res.statusCode, message: end.complete ? 'upstream stream finished without content' : 'upstream stream ended before content', retryAfterMs: null });
      }
    }
  } catch (err) {
    res.body.destroy();
    return failed(whyFailure(err));
  } finally {
    if (!handedOff) cleanup();
  }
}
