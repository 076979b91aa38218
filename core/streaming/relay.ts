import type { ServerResponse } from 'node:http';
import type { OpenStream } from '../attempts/send.js';

export interface RelayEnd {
  /** The stream ended with its protocol's terminator. */
  complete: boolean;
  /** Failed after content was sent: ended with an error event and no terminator. */
  interrupted: boolean;
  clientAborted: boolean;
  reason: string | null;
}

/**
 * Write, and wait for the socket to drain when the client reads slower than the upstream writes.
 * A client that stops reading altogether would hold the wait (and the request) forever: the
 * request's end (deadline) drops its connection instead, since it reads nothing more anyway.
 */
function write(res: ServerResponse, s: string, open: OpenStream): Promise<void> | void {
  if (!s || res.destroyed) return;
  if (res.write(s)) return;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      unsubscribe();
      resolve();
    };
    const stuck = () => {
      res.destroy();
      done();
    };
    res.on('drain', done);
    res.on('close', done);
    const unsubscribe = open.onAbort(stuck);
    if (open.abortReason() === 'deadline' || open.abortReason() === 'client') stuck();
  });
}

/** The client went away before the relay wrote the stream's end. */
const GONE: RelayEnd = Object.freeze({ complete: false, interrupted: false, clientAborted: true, reason: 'client disconnected' });

/**
 * Pipe a committed upstream stream to the client frame by frame (never buffering the whole
 * stream). A failure after content ends the stream with the protocol's error event and no
 * terminator, so clients cannot mistake a cut for a finished answer.
 */
export async function relayStream(res: ServerResponse, open: OpenStream, headers: Record<string, string | number>): Promise<RelayEnd> {
  // The caller's object becomes the response's headers (completed in place: a spread here cost
  // a few µs a stream).
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  const tr = open.translator;
  const end = (complete: boolean, interrupted: boolean, reason: string | null, tail = ''): RelayEnd => {
    open.close(complete);
    // Gone before the end was written (left, or dropped for not reading: see write): the
    // client did not get it, even when the upstream finished (a held stream ends here whole).
    if (res.destroyed) return GONE;
    res.end(tail);
    return { complete, interrupted, clientAborted: false, reason };
  };
  // `sent`: frames of the current batch not written yet, which go out before the error event.
  const fail = (reason: string, sent = '') => end(false, true, reason, sent + tr.errorEvent(`upstream stream failed after content was sent: ${reason}`, 'SY_ERR_STREAM_INTERRUPTED'));

  try {
    await write(res, open.head, open);
    if (open.finished) return end(true, false, null);
    let events = open.pending;
    for (;;) {
      // Frames that arrived together leave together: one write per upstream read, not per frame.
      let out = '';
      for (const ev of events) {
        const v = tr.frame(ev.event, ev.data);
        if (v.kind === 'error') return fail(v.failure!.message, out);
        if (v.kind === 'skip') continue;
        out += v.out ?? '';
        if (v.kind === 'done') return end(true, false, null, out);
      }
      const p = write(res, out, open);
      if (p) await p;
      if (res.destroyed) break;
      const next = await open.next();
      if (next === null) {
        const e = tr.end();
        return e.complete ? end(true, false, null, e.out) : fail('upstream ended the stream early');
      }
      events = next;
    }
  } catch (err) {
    const why = open.abortReason();
    if (why === 'client' || res.destroyed) {
      open.close();
      return GONE;
    }
    const code = (err as { code?: string }).code;
    return fail(why === 'deadline' ? 'request deadline reached' : code === 'UND_ERR_BODY_TIMEOUT' ? 'idle timeout' : `upstream connection lost (${code ?? 'error'})`);
  }
  open.close();
  return GONE;
}
