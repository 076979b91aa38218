import { EventEmitter } from 'node:events';
import type { Exchange, StreamTranslator, Usage } from '../providers/types.js';
import type { Target } from '../routing/table.js';
import type { RequestContext } from '../pipeline/context.js';
import type { RequestAbort } from '../pipeline/abort.js';
import { SseParser, type SseEvent } from '../streaming/sse.js';
import { classifyTransportError, type Failure } from './failure.js';
import { GatewayError, renderError } from '../errors.js';
import { requestBuffered } from './buffered.js';
import { UpstreamBody, requestStreamed, type StreamedResponse } from './streamed.js';

/** Lifecycle frames held before the first content frame are capped; past this we commit. */
const HOLD_CAP_BYTES = 64 * 1024;
const ERROR_BODY_CAP = 256 * 1024;
/** A whole JSON answer to a stream request (replayed as events): the SSE parser's own event cap. */
const JSON_ANSWER_CAP = 4 * 1024 * 1024;

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
  /** Call `cb` when the request is aborted (deadline, client gone) from now on; returns the unsubscribe. */
  onAbort(cb: () => void): () => void;
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
        // Not an answer: it may still be an error body under a 2xx (quota, rate limit... from a
        // proxy), classed by what it says; one that says nothing is a server_error.
        const said = contentType.includes('json') ? provider.adapter.classify(whole.statusCode, whole.headers, whole.body) : null;
        if (said && said.class !== 'server_error') return failed(said);
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
    let body = res.body;
    /** The upstream answered with JSON: `body` replays it as events, whole (see below). */
    let whole = false;
    if (!contentType.includes('text/event-stream')) {
      if (!contentType.includes('json')) {
        res.body.destroy();
        return failed({ class: 'server_error', status: res.statusCode, message: `upstream answered a stream request with ${contentType || 'no content-type'}`, retryAfterMs: null });
      }
      // A JSON answer to a stream request. Some compatible servers and proxies send their errors
      // this way under a 200 (quota, rate limit, context length...): classed like an error
      // status's body. A whole completion (a server that ignores `stream`) is replayed as its
      // own protocol's event stream through this attempt's translator: the client asked for a
      // stream and gets a protocol-correct one, and the answer, already generated and paid for,
      // is not thrown away to spend a second generation on another target. The replay passes
      // the same checks as a real stream (content filter, empty answer).
      const raw = await readCapped(res.body, JSON_ANSWER_CAP);
      const replay = provider.adapter.completionAsStream?.(raw) ?? null;
      if (replay === null) return failed(provider.adapter.classify(res.statusCode, res.headers, raw));
      body = new UpstreamBody();
      body.push(Buffer.from(replay));
      body.end();
      whole = true;
    }
    const includeUsage = ctx.body.stream_options != null && (ctx.body.stream_options as { include_usage?: boolean }).include_usage === true;
    const translator = exchange.stream(target, route.model, includeUsage, { body: ctx.body, estimatedInputTokens: ctx.summary.estimatedInputTokens });
    const parser = new SseParser();
    let head = '';
    for (;;) {
      const value = await body.next();
      const done = value === null;
      let events: SseEvent[];
      try {
        events = done ? parser.flush() : parser.push(value);
      } catch (err) {
        // An event past the parser's size cap: a malformed stream, like a malformed frame (not a transport error).
        body.destroy();
        return failed({ class: 'server_error', status: res.statusCode, message: `malformed SSE stream from upstream (${(err as Error).message})`, retryAfterMs: null });
      }
      for (let i = 0; i < events.length; i++) {
        const v = translator.frame(events[i].event, events[i].data);
        if (v.kind === 'error') {
          // The upstream may keep generating after its error frame: stop the call, free the connection.
          body.destroy();
          return failed(v.failure!);
        }
        if (v.kind === 'skip') continue;
        head += v.out ?? '';
        // A replayed JSON answer is all here: held whole, so its finish is known at commit.
        if (whole ? v.kind !== 'done' : v.kind === 'lifecycle' && head.length <= HOLD_CAP_BYTES) continue;
        // First content (or a done frame, or too much held): commit this attempt, unless the
        // answer is the content filter's and the route falls back on that. Nothing has reached
        // the client yet, so the next target is tried invisibly (DESIGN: streaming rules).
        if (route.onContentFilter === 'fallback' && translator.contentFiltered?.()) {
          return failed(await readRefusal(translator, parser, body, head, events.slice(i + 1), v.kind === 'done', done, res.statusCode, performance.now() - t0, route.idleTimeoutMs, ctx.abort));
        }
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
            // Record a filtered answer that was relayed (after content, or on_content_filter: return).
            if (completed && translator.contentFiltered?.()) noteFiltered(ctx, target);
            if (body.destroyed) return;
            // A finished stream is drained, not destroyed: no abort error to build, and the
            // connection goes back to the pool.
            if (completed) body.drain();
            else body.destroy();
          },
          abortReason: () => (why === 'timeout' ? null : why),
          onAbort: (cb) => {
            abort.on('abort', cb);
            return () => abort.off('abort', cb);
          },
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

/**
 * A stream the content filter refused before any content, under on_content_filter: fallback.
 * The refusal is read to its end (a few frames; the first-content timer still bounds the wait)
 * into a finished stream that replays it, so a chain that ends on this failure serves it as
 * `return` would have. A tail that fails, is cut or runs past the hold cap is dropped: the
 * failure stands without a replay.
 */
async function readRefusal(translator: StreamTranslator, parser: SseParser, body: UpstreamBody, head: string, rest: SseEvent[], finished: boolean, ended: boolean, status: number, ttfbMs: number, idleMs: number, request: RequestAbort): Promise<Failure> {
  const failure: Failure = { class: 'content_filter', status, message: 'upstream refused (content filter) before content was sent', retryAfterMs: null };
  let out = head;
  let complete = finished;
  try {
    for (let done = ended; !complete; ) {
      for (const ev of rest) {
        const v = translator.frame(ev.event, ev.data);
        if (v.kind === 'error') throw new Error('error frame after the refusal');
        if (v.kind === 'skip') continue;
        out += v.out ?? '';
        if (v.kind === 'done') complete = true;
        if (complete || out.length > HOLD_CAP_BYTES) break;
      }
      if (complete || out.length > HOLD_CAP_BYTES) break;
      if (done) {
        const end = translator.end();
        if (end.complete) {
          out += end.out;
          complete = true;
        }
        break;
      }
      const chunk = await body.next();
      done = chunk === null;
      rest = chunk === null ? parser.flush() : parser.push(chunk);
    }
  } catch {
    complete = false;
  }
  if (!complete) {
    body.destroy();
    return failure;
  }
  // Finished: the rest is read and dropped so the connection goes back to the pool, within the
  // idle bound (an upstream that never ends its response after the terminator is cut).
  body.watchIdle(idleMs);
  body.drain();
  const stream: OpenStream = {
    head: out,
    pending: [],
    finished: true,
    translator,
    next: async () => null,
    close: () => {},
    // Replayed later, when this attempt is long over: the request's own abort is what bounds it.
    abortReason: () => request.reason,
    onAbort: (cb) => {
      request.on(cb);
      return () => request.off(cb);
    },
  };
  failure.refusal = { stream, ttfbMs };
  return failure;
}

/** A relayed answer the upstream's content filter ended: on the served attempt's record and in the log. */
function noteFiltered(ctx: RequestContext, target: Target): void {
  const record = ctx.attempts.findLast((a) => a.target === target.id && a.errorClass === null);
  const message = ctx.route.onContentFilter === 'fallback' ? 'stream ended by the upstream content filter after content was sent (no fallback)' : 'stream ended by the upstream content filter (on_content_filter: return)';
  if (record) record.message = message;
  ctx.log.info({ requestId: ctx.id, target: target.id }, message);
}
