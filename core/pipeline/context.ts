import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Candidate, FailureClass, RequestSummary } from '../../sdk/types.js';
import type { Entry, Usage } from '../providers/types.js';
import type { Route, Target } from '../routing/table.js';
import type { Failure } from '../attempts/failure.js';
import type { RequestAbort } from './abort.js';

/** How the served answer was reached. Plugins may add more. */
export type RouteMode = 'direct' | 'retry' | 'fallback' | 'model_fallback' | 'policy' | 'hedged' | (string & {});

/** The ordered targets to try: selectProvider's output. */
export interface Plan {
  candidates: Candidate[];
  reason: string;
  maxAttempts: number;
  hedgeAfterMs?: number;
  /** Set when something other than the static route order decided (e.g. 'policy'). */
  mode?: RouteMode;
}

/** One upstream try, as recorded for telemetry, capture and the onError hooks. */
export interface AttemptRecord {
  n: number;
  target: string;
  provider: string;
  model: string;
  status: number | null;
  errorClass: FailureClass | null;
  /** Wall time of the attempt until its outcome was known (first content for streams). */
  latencyMs: number;
  startedAt: number;
  /** Secret-free failure description. */
  message?: string;
  hedged?: boolean;
}

/**
 * A request in flight: plain data handed from phase to phase. Fields marked readonly are
 * fixed at parse time; plugins keep their own per-request data under `state[pluginName]`.
 */
export interface RequestContext {
  readonly id: string;
  readonly entry: Entry;
  readonly protocol: 'openai' | 'anthropic';
  /** Date.now() at arrival. */
  readonly receivedAt: number;
  /** performance.now() at arrival. */
  readonly t0: number;
  readonly headers: IncomingHttpHeaders;
  /** The client's body, parsed. preRoute hooks may rewrite it. */
  body: Record<string, unknown>;
  route: Route;
  /** What policies see: no prompts, no secrets. */
  summary: RequestSummary;
  /** Aborted on client disconnect (reason 'client') or deadline (reason 'deadline'). */
  readonly signal: AbortSignal;
  /** The same abort without an AbortSignal (what the pipeline itself listens to). */
  readonly abort: RequestAbort;
  readonly deadlineAt: number;
  /** A number in [0,1) fixed for this request: replayable randomness for plans and backoff. */
  readonly random: number;
  plan: Plan | null;
  attempts: AttemptRecord[];
  /** Headers to add to the response (plugins: rate-limit headers and the like). */
  responseHeaders: Record<string, string>;
  state: Record<string, unknown>;
  log: Logger;
}

/** The fields a context starts with (everything but `signal`, which is made on first use). */
export type ContextInit = Omit<RequestContext, 'signal'>;

/**
 * The RequestContext handle() makes. A class, not an object literal with a `signal` getter:
 * an accessor in a literal makes V8 build every context through a slow runtime path, and
 * every read of a context field afterwards pays for it (measured: ~8% of routing throughput).
 * Its fields are ContextInit's (the interface below merges them in), copied in one order.
 */
export interface Context extends ContextInit {}
export class Context implements RequestContext {
  constructor(init: ContextInit) {
    Object.assign(this, init);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}

/** What finally happened: the postResponse input. */
export interface Outcome {
  status: number;
  ok: boolean;
  routeMode: RouteMode;
  served: Target | null;
  attempts: AttemptRecord[];
  usage: Usage | null;
  latencyMs: number;
  /** Time to first content frame (streams) or to the response (non-stream). */
  ttftMs: number | null;
  stream: boolean;
  errorCode: string | null;
  errorClass: FailureClass | null;
  /** A stream failed after content was sent and was ended with an error event. */
  interrupted: boolean;
  clientAborted: boolean;
  lastFailure: Failure | null;
  /** USD from real usage and target prices; set by the cost plugin in its postResponse. */
  costUsd: number | null;
}
