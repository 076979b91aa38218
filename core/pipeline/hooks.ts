import type { Candidate, ErrorAction } from '../../sdk/types.js';
import { GatewayError } from '../errors.js';
import type { Failure } from '../attempts/failure.js';
import type { Target } from '../routing/table.js';
import type { AttemptRecord, Outcome, Plan, RequestContext } from './context.js';

/**
 * The lifecycle phases, in order. Hooks of one phase run in registration order; the arrays
 * are assembled once at boot and only walked per request.
 *
 * - preRoute(ctx): may tag ctx, rewrite ctx.body, or reject by throwing a GatewayError.
 * - selectProvider(ctx, plan): may return a new Plan (filter, reorder, annotate candidates)
 *   or nothing to keep the plan it was given. The last hook's plan is the Decision.
 * - beforeAttempt(ctx, target): just before each attempt on a target (first try, retry,
 *   fallback, either half of a hedged pair). Nothing: go ahead; `{ skip: reason }`: skip the
 *   target as an exhausted rate limit is skipped (no attempt spent, next target; the first skip
 *   wins, later hooks do not run). The target's own rate limit is charged after the hooks let
 *   it through, so a skipped target spends none of it.
 * - onError(ctx, attempt, failure, action): may return another action ('retry' | 'fallback' | 'fail');
 *   the last returned action stands. Also the place to record failures (cooldown, health).
 * - afterAttempt(ctx, target, result, attempt): once for every target beforeAttempt ran on, when
 *   the gateway is done with it: 'answered' (its answer is the one served; the response's own
 *   end is postResponse's), 'failed' (after onError), 'cancelled' (cut by the request's abort,
 *   or it lost a hedged race: no verdict on the target) or 'skipped' (a beforeAttempt hook or
 *   the target's rate limit refused it; `attempt` is null). The place to give back what
 *   beforeAttempt took. Not awaited, and never fails the request, critical or not.
 * - postResponse(ctx, outcome): runs after the response is sent, off the client's path.
 *
 * A hook that throws (other than a GatewayError from preRoute/selectProvider, which is a
 * deliberate rejection) is logged and counted and the request goes on — unless its plugin
 * is `critical`, in which case the request fails with SY_ERR_PLUGIN.
 *
 * A hook that never settles must not hold the request past its deadline: an awaited hook of
 * preRoute/selectProvider/beforeAttempt/onError is abandoned when the request aborts
 * (deadline: 504 SY_ERR_DEADLINE; client gone), logged and counted. A postResponse hook is
 * waited for at most POST_RESPONSE_WAIT_MS, so the hooks after it (cost, telemetry) and budget
 * settlement still run; the slow hook itself keeps running.
 */
export const PHASES = ['preRoute', 'selectProvider', 'beforeAttempt', 'onError', 'afterAttempt', 'postResponse'] as const;
export type Phase = (typeof PHASES)[number];

type Awaitable<T> = T | Promise<T>;
export type PreRouteHook = (ctx: RequestContext) => Awaitable<void>;
export type SelectProviderHook = (ctx: RequestContext, plan: Plan) => Awaitable<Plan | void | undefined>;
/** `target` is the route's Target, the object `outcome.served` is: `id` is `attempt.target` in onError. */
export type BeforeAttemptHook = (ctx: RequestContext, target: Target) => Awaitable<{ skip: string } | void | undefined>;
/** How an attempt ended for the gateway (see afterAttempt above). */
export type AttemptEnd = 'answered' | 'failed' | 'cancelled' | 'skipped';
/** `attempt` is the attempt's record (as in ctx.attempts), null for 'skipped'. */
export type AfterAttemptHook = (ctx: RequestContext, target: Target, result: AttemptEnd, attempt: AttemptRecord | null) => Awaitable<void>;
export type OnErrorHook = (ctx: RequestContext, attempt: AttemptRecord, failure: Failure, action: ErrorAction) => Awaitable<ErrorAction | { action: ErrorAction } | void | undefined>;
export type PostResponseHook = (ctx: RequestContext, outcome: Outcome) => Awaitable<void>;

interface HookFns {
  preRoute: PreRouteHook;
  selectProvider: SelectProviderHook;
  beforeAttempt: BeforeAttemptHook;
  afterAttempt: AfterAttemptHook;
  onError: OnErrorHook;
  postResponse: PostResponseHook;
}

export interface Registered<F> {
  fn: F;
  plugin: string;
  critical: boolean;
}

export type HookErrorReporter = (plugin: string, phase: Phase, err: unknown) => void;

export const POST_RESPONSE_WAIT_MS = 5000;

/** The request aborted while a hook was awaited: not the hook's fault to absorb, so never swallowed. */
class Abandoned extends GatewayError {}

/** The hook arrays of one gateway. Built at boot; `add` validates. */
export class Hooks {
  readonly preRoute: Registered<PreRouteHook>[] = [];
  readonly selectProvider: Registered<SelectProviderHook>[] = [];
  readonly beforeAttempt: Registered<BeforeAttemptHook>[] = [];
  readonly afterAttempt: Registered<AfterAttemptHook>[] = [];
  readonly onError: Registered<OnErrorHook>[] = [];
  readonly postResponse: Registered<PostResponseHook>[] = [];

  constructor(private readonly report: HookErrorReporter) {}

  add<P extends Phase>(phase: P, fn: HookFns[P], plugin: string, critical = false): void {
    if (!PHASES.includes(phase)) throw new Error(`unknown hook phase "${String(phase)}" (plugin ${plugin})`);
    if (typeof fn !== 'function') throw new TypeError(`plugin ${plugin}: ${phase} hook must be a function`);
    (this[phase] as Registered<HookFns[P]>[]).push({ fn, plugin, critical });
  }

  private fault(h: Registered<unknown>, phase: Phase, err: unknown): void {
    this.report(h.plugin, phase, err);
    if (h.critical) throw new GatewayError('SY_ERR_PLUGIN', `plugin ${h.plugin} failed in ${phase}`);
  }

  async runPreRoute(ctx: RequestContext): Promise<void> {
    for (const h of this.preRoute) {
      try {
        const r = h.fn(ctx);
        if (isThenable(r)) await this.untilAbort(r, ctx, h, 'preRoute');
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        this.fault(h, 'preRoute', err);
      }
    }
  }

  async runSelectProvider(ctx: RequestContext, plan: Plan): Promise<Plan> {
    for (const h of this.selectProvider) {
      try {
        let next = h.fn(ctx, plan);
        if (isThenable(next)) next = await this.untilAbort(next, ctx, h, 'selectProvider');
        if (next) plan = validPlan(next, plan, h.plugin);
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        this.fault(h, 'selectProvider', err);
      }
    }
    return plan;
  }

  /**
   * Null to try `target` now, or the Failure a skip records (as a gate skip's). Synchronous, and
   * makes no promise, until a hook returns one: the common path is a walk of sync hooks.
   */
  runBeforeAttempt(ctx: RequestContext, target: Target): Failure | null | Promise<Failure | null> {
    const hs = this.beforeAttempt;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      try {
        const r = h.fn(ctx, target);
        if (isThenable(r)) return this.beforeAttemptAsync(ctx, target, i, r);
        if (typeof r?.skip === 'string') return skipped(target, h.plugin, r.skip);
      } catch (err) {
        this.fault(h, 'beforeAttempt', err);
      }
    }
    return null;
  }

  /** The rest of runBeforeAttempt from hook `i`, whose result `pending` is a promise. */
  private async beforeAttemptAsync(ctx: RequestContext, target: Target, i: number, pending: Promise<{ skip: string } | void | undefined> | null): Promise<Failure | null> {
    const hs = this.beforeAttempt;
    for (; i < hs.length; i++) {
      const h = hs[i]!;
      try {
        let r = pending ?? h.fn(ctx, target);
        pending = null;
        if (isThenable(r)) r = await this.untilAbort(r, ctx, h, 'beforeAttempt');
        if (typeof r?.skip === 'string') return skipped(target, h.plugin, r.skip);
      } catch (err) {
        if (err instanceof Abandoned) throw err;
        this.fault(h, 'beforeAttempt', err);
      }
    }
    return null;
  }

  /**
   * Tell every afterAttempt hook how the attempt on `target` ended. Never throws and never
   * waits: the loop goes on at once, and a returned promise that rejects is reported.
   */
  runAfterAttempt(ctx: RequestContext, target: Target, result: AttemptEnd, attempt: AttemptRecord | null): void {
    const hs = this.afterAttempt;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      try {
        const r = h.fn(ctx, target, result, attempt);
        if (isThenable(r)) r.then(undefined, (err: unknown) => this.report(h.plugin, 'afterAttempt', err));
      } catch (err) {
        this.report(h.plugin, 'afterAttempt', err);
      }
    }
  }

  async runOnError(ctx: RequestContext, attempt: AttemptRecord, failure: Failure, action: ErrorAction): Promise<ErrorAction> {
    for (const h of this.onError) {
      try {
        let r = h.fn(ctx, attempt, failure, action);
        if (isThenable(r)) r = await this.untilAbort(r, ctx, h, 'onError');
        const a = typeof r === 'string' ? r : r?.action;
        if (a === 'retry' || a === 'fallback' || a === 'fail') action = a;
      } catch (err) {
        if (err instanceof Abandoned) throw err;
        this.fault(h, 'onError', err);
      }
    }
    return action;
  }

  /** Never throws: the response is already on its way. */
  async runPostResponse(ctx: RequestContext, outcome: Outcome): Promise<void> {
    for (const h of this.postResponse) {
      try {
        const r = h.fn(ctx, outcome);
        if (isThenable(r)) await this.atMost(r, h);
      } catch (err) {
        this.report(h.plugin, 'postResponse', err);
      }
    }
  }

  /** `p`, or an Abandoned error as soon as the request aborts (deadline or client gone). */
  private untilAbort<T>(p: Promise<T>, ctx: RequestContext, h: Registered<unknown>, phase: Phase): Promise<T> {
    const abort = ctx.abort;
    const abandoned = () => {
      const deadline = abort.reason === 'deadline';
      const err = new Abandoned(deadline ? 'SY_ERR_DEADLINE' : 'SY_ERR_INTERNAL', deadline ? `request deadline of ${ctx.route.deadlineMs} ms reached` : 'client disconnected', deadline ? { headers: { 'x-should-retry': 'false' } } : {});
      this.report(h.plugin, phase, new Error(`${phase} hook did not finish before the request ${deadline ? 'deadline' : 'was abandoned by the client'}`));
      return err;
    };
    if (abort.reason) return Promise.reject(abandoned());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abandoned());
      abort.on(onAbort);
      p.then(
        (v) => (abort.off(onAbort), resolve(v)),
        (e: unknown) => (abort.off(onAbort), reject(e)),
      );
    });
  }

  /** Wait for a postResponse hook at most POST_RESPONSE_WAIT_MS; then report it and go on. */
  private atMost(p: Promise<unknown>, h: Registered<unknown>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.report(h.plugin, 'postResponse', new Error(`postResponse hook still running after ${POST_RESPONSE_WAIT_MS} ms: the next hooks run without waiting`));
        resolve();
      }, POST_RESPONSE_WAIT_MS);
      timer.unref();
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }
}

/** Most hooks are synchronous: awaiting only real promises saves a microtask per hook per request. */
function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * What a beforeAttempt skip records. 'overloaded' (target unavailable for now): a request that
 * tried nothing gets 503 SY_ERR_UPSTREAM_EXHAUSTED with Retry-After, naming plugin and reason.
 */
function skipped(target: Target, plugin: string, reason: string): Failure {
  return { class: 'overloaded', status: null, message: `target ${target.id} skipped by plugin ${plugin}: ${reason}`, retryAfterMs: null };
}

/** A hook's plan must only hold candidates it was offered (no invented targets). */
function validPlan(next: Plan, prev: Plan, plugin: string): Plan {
  if (!Array.isArray(next.candidates)) throw new TypeError(`plugin ${plugin}: selectProvider returned a plan without candidates`);
  // Routes have a handful of targets: a scan beats building a Set on every request.
  const prevC = prev.candidates;
  const known = prevC.length > 16 ? new Set<string>(prevC.map((c: Candidate) => c.id)) : null;
  for (const c of next.candidates) {
    if (!c || !(known ? known.has(c.id) : prevC.some((p) => p.id === c.id))) throw new TypeError(`plugin ${plugin}: selectProvider returned unknown candidate ${String(c?.id)}`);
  }
  return next;
}
