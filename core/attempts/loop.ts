import type { Entry } from '../providers/types.js';
import type { Target } from '../routing/table.js';
import type { AttemptRecord, RequestContext } from '../pipeline/context.js';
import type { Hooks } from '../pipeline/hooks.js';
import { backoffMs, sleep } from './backoff.js';
import { defaultAction } from './decide.js';
import type { Failure } from './failure.js';
import type { ErrorAction } from '../../sdk/types.js';
import type { AttemptResult } from './send.js';
import { hedgedPair, tryTarget, type Tried } from './hedge.js';
import { gateTarget } from '../access/access.js';

export interface LoopResult {
  /**
   * The target whose answer is served. Null with a `result`: the chain ended on a stream the
   * content filter refused (on_content_filter: fallback) and that refusal is the answer, as a
   * non-stream refusal's body is passed through (the request records the content_filter failure).
   */
  served: Target | null;
  result: Extract<AttemptResult, { ok: true }> | null;
  lastFailure: Failure | null;
  /** The loop stopped because the client left or the deadline passed. */
  aborted: 'client' | 'deadline' | null;
}

/**
 * Walk the plan: try a target, and on failure let the taxonomy and the onError hooks choose
 * retry (same target, after backoff), fallback (next target) or fail. One retry budget and
 * one attempt cap per request, so retries never multiply across targets.
 */
export async function runAttemptLoop(ctx: RequestContext, entry: Entry, hooks: Hooks, stream: boolean): Promise<LoopResult> {
  const route = ctx.route;
  const plan = ctx.plan!;
  const queue: Target[] = [];
  for (const c of plan.candidates) queue.push(route.targetsById.get(c.id)!);
  let retriesLeft = route.retries;
  let lastFailure: Failure | null = null;
  let current = queue.shift();
  const exchangeOf = (t: Target) => t.provider.adapter.exchange(entry)!;

  while (current && ctx.attempts.length < plan.maxAttempts) {
    const skip = skipOf(ctx, hooks, current);
    const skipped = skip instanceof Promise ? await skip : skip;
    if (skipped) {
      lastFailure ??= skipped;
      current = queue.shift();
      continue;
    }
    // Each target may be another provider kind: its adapter knows how to speak to it.
    let attempt: Tried;
    if (plan.hedgeAfterMs != null && ctx.attempts.length === 0 && queue.length > 0 && plan.maxAttempts > 1) {
      const next = queue.shift()!;
      const admit = async (t: Target) => {
        const skip = skipOf(ctx, hooks, t);
        return !(skip instanceof Promise ? await skip : skip);
      };
      const tried = await hedgedPair(ctx, current, next, exchangeOf, stream, plan.hedgeAfterMs, admit);
      for (const x of tried) {
        x.record.n = ctx.attempts.length + 1;
        ctx.attempts.push(x.record);
      }
      if (tried.length === 1) queue.unshift(next); // answered before the hedge was due
      const won = tried.length === 2 ? tried.find((x) => x.res.ok) : undefined;
      if (won) {
        const lost = tried[0];
        // A loser that failed before the winner answered failed for real: plugins get its verdict.
        if (lost.cancelled || lost.res.ok) hooks.runAfterAttempt(ctx, lost.target, 'cancelled', lost.record);
        else await settleFailed(ctx, hooks, lost, defaultAction((lost.res as Failed).failure, route, queue.length, 0));
        hooks.runAfterAttempt(ctx, won.target, 'answered', won.record);
        return { served: won.target, result: won.res as Extract<AttemptResult, { ok: true }>, lastFailure, aborted: null };
      }
      if (tried.length === 2) {
        // Both hedged attempts failed: each failure gets the verdict an unhedged one would (no
        // retry: the pair already spent two attempts), so a request-level 4xx still stops here.
        let stop: Failure | null = null;
        for (const x of tried) {
          const f = (x.res as Failed).failure;
          const action = await settleFailed(ctx, hooks, x, defaultAction(f, route, queue.length, 0));
          if (action === 'fail') stop = f;
          if (action && f.class === 'context_length') dropSmallerWindows(queue, x.target);
        }
        const last = tried[1].res as Failed;
        lastFailure = stop ?? last.failure;
        if (last.aborted) return { served: null, result: null, lastFailure, aborted: last.aborted };
        if (stop) break;
        current = queue.shift();
        continue;
      }
      attempt = tried[0];
    } else {
      attempt = await tryTarget(ctx, current, exchangeOf(current), stream);
      attempt.record.n = ctx.attempts.length + 1;
      ctx.attempts.push(attempt.record);
    }
    const { res, record } = attempt;
    if (res.ok) {
      hooks.runAfterAttempt(ctx, current, 'answered', record);
      return { served: current, result: res, lastFailure, aborted: null };
    }

    lastFailure = res.failure;
    record.message = res.failure.message;
    const action = await settleFailed(ctx, hooks, attempt, defaultAction(res.failure, route, queue.length, retriesLeft));
    if (!action) return { served: null, result: null, lastFailure, aborted: res.aborted };
    ctx.log.debug({ attempt: record.n, target: current.id, class: res.failure.class, status: res.failure.status, action }, 'attempt failed');

    if (action === 'fail') break;
    if (action === 'retry' && retriesLeft > 0) {
      retriesLeft--;
      const wait = backoffMs(route.retries - retriesLeft - 1, Math.random(), { retryAfterMs: res.failure.retryAfterMs, capMs: route.maxRetryWaitMs });
      if (performance.now() - ctx.t0 + wait >= route.deadlineMs) break;
      await sleep(wait, ctx.signal);
      continue;
    }
    if (res.failure.class === 'context_length') dropSmallerWindows(queue, current);
    current = queue.shift();
  }
  const refusal = lastFailure?.refusal;
  if (refusal && !ctx.abort.reason) return { served: null, result: { ok: true, kind: 'stream', stream: refusal.stream, ttfbMs: refusal.ttfbMs }, lastFailure, aborted: null };
  return { served: null, result: null, lastFailure, aborted: ctx.abort.reason };
}

type Failed = Extract<AttemptResult, { ok: false }>;

/**
 * A failed attempt's verdict: the onError hooks choose the action from `proposed`, then
 * afterAttempt hears 'failed'. An attempt cut by the request's own abort (client gone,
 * deadline) has no verdict on the target: plugins hear 'cancelled' and the answer is null.
 */
async function settleFailed(ctx: RequestContext, hooks: Hooks, x: Tried, proposed: ErrorAction): Promise<ErrorAction | null> {
  const r = x.res as Failed;
  if (r.aborted) {
    hooks.runAfterAttempt(ctx, x.target, 'cancelled', x.record);
    return null;
  }
  try {
    return await hooks.runOnError(ctx, x.record, r.failure, proposed);
  } finally {
    hooks.runAfterAttempt(ctx, x.target, 'failed', x.record); // even when a critical onError fails the request
  }
}

/**
 * Why `t` is not tried now, or null to go ahead: a plugin's beforeAttempt skipped it, or its
 * provider-facing limit (target rate_limit) is exhausted. The hooks run first, so a skipped
 * target spends none of its limit; whatever refuses it, afterAttempt hears 'skipped' so a hook
 * that took something (a cooldown trial) gives it back. No promise unless a hook or the gate
 * needs one.
 */
function skipOf(ctx: RequestContext, hooks: Hooks, t: Target): Failure | null | Promise<Failure | null> {
  let f: Failure | null | Promise<Failure | null>;
  try {
    f = hooks.runBeforeAttempt(ctx, t);
  } catch (err) {
    return skipThrown(ctx, hooks, t, err);
  }
  // Closures only on the async paths: the common one is a sync walk per attempt.
  if (f instanceof Promise) return f.then((x) => gated(ctx, hooks, t, x), (err: unknown) => skipThrown(ctx, hooks, t, err));
  return gated(ctx, hooks, t, f);
}

/** After the hooks: their skip, or the target's rate limit. */
function gated(ctx: RequestContext, hooks: Hooks, t: Target, f: Failure | null): Failure | null | Promise<Failure | null> {
  if (f) return skippedBy(ctx, hooks, t, f);
  const g = gateTarget(ctx, t);
  return g && g.then((x) => x && skippedBy(ctx, hooks, t, x));
}

function skippedBy(ctx: RequestContext, hooks: Hooks, t: Target, f: Failure): Failure {
  hooks.runAfterAttempt(ctx, t, 'skipped', null);
  return f;
}

/** A critical beforeAttempt failed the request: the hooks that let `t` through still hear 'skipped'. */
function skipThrown(ctx: RequestContext, hooks: Hooks, t: Target, err: unknown): never {
  hooks.runAfterAttempt(ctx, t, 'skipped', null);
  throw err;
}

/** After a context_length failure on `failed`, only a target with a larger window can help. */
function dropSmallerWindows(queue: Target[], failed: Target): void {
  const window = failed.contextWindow ?? 0;
  for (let i = queue.length - 1; i >= 0; i--) if ((queue[i].contextWindow ?? 0) <= window) queue.splice(i, 1);
}

