/**
 * The request's abort: client disconnect or deadline. The pipeline listens through `on`/`off`
 * (a plain array, no EventTarget); an AbortSignal is built only when something asks for one
 * (a plugin's `ctx.signal`, a retry's sleep). An AbortController costs a few µs per request,
 * which on the hot path is a visible share of the gateway's own CPU.
 */
export type AbortReason = 'client' | 'deadline';

export class RequestAbort {
  reason: AbortReason | null = null;
  private listeners: (() => void)[] = [];
  private controller: AbortController | null = null;

  abort(reason: AbortReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l();
  }

  on(fn: () => void): void {
    this.listeners.push(fn);
  }

  off(fn: () => void): void {
    const i = this.listeners.indexOf(fn);
    if (i !== -1) this.listeners.splice(i, 1);
  }

  /** A standard AbortSignal with the same state, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
