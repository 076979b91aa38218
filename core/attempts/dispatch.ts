import type { EventEmitter } from 'node:events';
import { errors, type Dispatcher } from 'undici';

/**
 * `dispatcher.dispatch` with an abort emitter (first-content timeout, deadline, client gone,
 * hedge loser): an 'abort' on `signal` stops the call wherever it is (waiting for a connection,
 * before or after the headers) through undici's own abort, so it always ends in the handler's
 * onError. The listener is removed when the call completes or fails.
 */
export function dispatchAbortable(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal: EventEmitter, handler: Dispatcher.DispatchHandler): void {
  let abort: ((err: Error) => void) | null = null;
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    abort?.(new errors.RequestAbortedError());
  };
  signal.once('abort', onAbort);
  dispatcher.dispatch(opts, {
    ...handler,
    onConnect(a) {
      abort = a;
      if (aborted) return a(new errors.RequestAbortedError());
      handler.onConnect?.(a);
    },
    onComplete(trailers) {
      signal.off('abort', onAbort);
      handler.onComplete?.(trailers);
    },
    onError(err) {
      signal.off('abort', onAbort);
      handler.onError?.(err);
    },
  });
}
