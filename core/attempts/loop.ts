import type { Entry } from '../providers/types.js';
import type { Target } from '../routing/table.js';
import type { AttemptRecord, RequestContext } from '../pipeline/context.js';
import type { Hooks } from '../pipeline/hooks.js';
import { backoffMs, sleep } from './backoff.js';
import { defaultAction } from './decide.js';
import type { Failure } from './failure.js';
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
      const won = tried.find((x) => x.res.ok);
      if (won) return { served: won.target, result: won.res as Extract<AttemptResult, { ok: true }>, lastFailure, aborted: null };
      if (tried.length === 2) {
        // Both hedged attempts failed: each failure gets the verdict an unhedged one would (no
        // retry: the pair already spent two attempts), so a request-level 4xx still stops here.
        let stop: Failure | null = null;
        for (const x of tried) {
          const r = x.res as Extract<AttemptResult, { ok: false }>;
          const f = r.failure;
          // Cut by the request's own abort (client gone, deadline): no verdict on the target,
          // so plugins are not told, as for an unhedged attempt.
          if (r.aborted) continue;
          const action = await hooks.runOnError(ctx, x.record, f, defaultAction(f, route, queue.length, 0));
          if (action === 'fail') stop = f;
          if (f.class === 'context_length') dropSmallerWindows(queue, x.target);
        }
        const last = tried[1].res as Extract<AttemptResult, { ok: false }>;
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
    if (res.ok) return { served: current, result: res, lastFailure, aborted: null };

    lastFailure = res.failure;
    record.message = res.failure.message;
    if (res.aborted) return { served: null, result: null, lastFailure, aborted: res.aborted };

    let action = defaultAction(res.failure, route, queue.length, retriesLeft);
    action = await hooks.runOnError(ctx, record, res.failure, action);
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

/**
 * Why `t` is not tried now, or null to go ahead: its provider-facing limit (target rate_limit)
 * is exhausted, or a plugin's beforeAttempt skipped it. The limit is charged first, so a
 * beforeAttempt that takes something (a cooldown trial) only does so for a real attempt.
 * No promise unless the gate or a hook needs one.
 */
function skipOf(ctx: RequestContext, hooks: Hooks, t: Target): Failure | null | Promise<Failure | null> {
  const gate = gateTarget(ctx, t);
  return gate ? gate.then((f) => f ?? hooks.runBeforeAttempt(ctx, t)) : hooks.runBeforeAttempt(ctx, t);
}

/** After a context_length failure on `failed`, only a target with a larger window can help. */
function dropSmallerWindows(queue: Target[], failed: Target): void {
  const window = failed.contextWindow ?? 0;
  for (let i = queue.length - 1; i >= 0; i--) if ((queue[i].contextWindow ?? 0) <= window) queue.splice(i, 1);
}

