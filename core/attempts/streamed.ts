import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { errors, util, type Dispatcher } from 'undici';
import { dispatchAbortable } from './dispatch.js';

/** Bytes queued ahead of the reader before the upstream socket is paused (a Readable's default). */
const HIGH_WATER = 64 * 1024;

/**
 * An upstream body read chunk by chunk, straight off the dispatcher. `pool.request()` puts a
 * Readable and an async iterator between the socket and the SSE parser: a promise, a queue and
 * its own events per read. Here a read is one array shift, or one promise when the reader waits.
 */
export class UpstreamBody {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | null = null;
  private waiter: { resolve: (c: Buffer | null) => void; reject: (e: Error) => void } | null = null;
  private paused = false;
  private draining = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Set by requestStreamed: stops the upstream call, and restarts a paused socket. */
  abort: ((err: Error) => void) | null = null;
  resume: (() => void) | null = null;
  destroyed = false;

  /** The next chunk; null at the end of the body. Rejects with the transport error (abort, body timeout, reset). */
  next(): Promise<Buffer | null> {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.length;
      if (this.paused && this.queued < HIGH_WATER) {
        this.paused = false;
        // A paused socket is the client's slowness, not the upstream's: the idle clock restarts.
        if (this.idleMs) this.armIdle();
        this.resume?.();
      }
      return Promise.resolve(chunk);
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /**
   * Fail reads with a body timeout when no chunk arrives for `ms` (idle_timeout_ms). Armed once
   * content flows: before that the attempt's first-content timer is the bound.
   */
  watchIdle(ms: number): void {
    if (ms <= 0 || this.ended || this.error) return;
    this.idleMs = ms;
    if (!this.paused) this.armIdle();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.fail(new errors.BodyTimeoutError()), this.idleMs);
  }

  /** Stop the upstream call; what is queued is dropped. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (!this.ended && !this.error) this.fail(new errors.RequestAbortedError());
  }

  /** Read the rest and drop it, so the connection goes back to the pool (a finished stream's tail). */
  drain(): void {
    this.draining = true;
    this.queue.length = 0;
    this.queued = 0;
    if (this.paused) {
      this.paused = false;
      this.resume?.();
    }
  }

  /** From the handler: a chunk arrived. False asks the dispatcher to pause the socket. */
  push(chunk: Buffer): boolean {
    this.idleTimer?.refresh();
    if (this.destroyed || this.draining) return true;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(chunk);
      return true;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued < HIGH_WATER) return true;
    this.paused = true;
    clearTimeout(this.idleTimer);
    return false;
  }

  end(): void {
    clearTimeout(this.idleTimer);
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(null);
  }

  /** From the handler or an abort: reads fail from now on, queued chunks included. */
  fail(err: Error): void {
    clearTimeout(this.idleTimer);
    if (this.error || this.ended) return;
    this.error = err;
    this.queue.length = 0;
    this.queued = 0;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
    this.abort?.(err);
  }
}

export interface StreamedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

/**
 * Dispatch a request and resolve at its response headers with the body still arriving. An abort
 * on `signal` (first-content timeout, deadline, client gone, hedge loser) rejects the call before
 * the headers, and fails the body's reads after them.
 */
export function requestStreamed(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal: EventEmitter): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const body = new UpstreamBody();
    let started = false;
    dispatchAbortable(dispatcher, opts, signal, {
      onConnect(abort) {
        body.abort = abort;
      },
      onHeaders(status, rawHeaders, resume) {
        if (status < 200) return true;
        started = true;
        body.resume = resume;
        resolve({ statusCode: status, headers: util.parseHeaders(rawHeaders as unknown as Buffer[]) as IncomingHttpHeaders, body });
        return true;
      },
      onData(chunk) {
        return body.push(chunk);
      },
      onComplete() {
        body.end();
      },
      onError(err) {
        if (started) body.fail(err);
        else reject(err);
      },
    });
  });
}
