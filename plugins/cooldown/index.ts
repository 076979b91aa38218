import { z } from 'zod';
import { Gauge } from 'prom-client';
import { definePlugin, GatewayError, isRequestLevel, type Outcome, type PluginApi, type RequestContext } from '../../sdk/plugin.js';
import { Breaker, type CooldownConfig } from './breaker.js';

const config = z.strictObject({
  consecutive_failures: z.number().int().positive().default(5),
  failure_rate: z.number().gt(0).lte(1).default(0.5),
  min_requests: z.number().int().positive().default(20),
  window_ms: z.number().int().positive().default(60_000),
  base_ms: z.number().int().positive().default(15_000),
  max_ms: z.number().int().positive().default(15 * 60_000),
  rate_limited_ms: z.number().int().positive().default(10_000),
  overloaded_ms: z.number().int().positive().default(10_000),
  connect_error_ms: z.number().int().positive().default(5_000),
  quota_ms: z.number().int().positive().default(10 * 60_000),
  account_auth_ms: z.number().int().positive().default(5 * 60_000),
  /** Cap on how long an unreported half-open trial holds its target (default: the trial request's deadline). */
  trial_timeout_ms: z.number().int().positive().optional(),
}).prefault({});

const STATE_CODE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * How long after its request's deadline a trial may still report back: the outcome reaches
 * postResponse after the response is sent, and each postResponse hook before this plugin's
 * is waited for up to 5 s (POST_RESPONSE_WAIT_MS in core/pipeline/hooks.ts).
 */
const TRIAL_REPORT_GRACE_MS = 5_000;

/** A half-open trial this request holds: the target and the claim's owner token. */
interface Claim {
  id: string;
  owner: string;
}

/**
 * When a trial that has not reported back is presumed lost. A request cannot outlive its
 * deadline (route deadline_ms bounds all attempts and the stream), so past it plus the time
 * postResponse may take, nothing will ever report and the next request may try the target.
 * Operators with long deadlines can cap it with `trial_timeout_ms`.
 */
function trialExpiry(ctx: RequestContext, now: number, cfg: CooldownConfig): number {
  const lastReport = ctx.receivedAt + ctx.route.deadlineMs + TRIAL_REPORT_GRACE_MS;
  return cfg.trial_timeout_ms ? Math.min(lastReport, now + cfg.trial_timeout_ms) : lastReport;
}

/** The plan kept `id` knowing it cools (when_all_cooling: try_least_bad): tried without a trial. */
function plannedCooling(ctx: RequestContext, id: string): boolean {
  return ctx.plan?.candidates.some((c) => c.id === id && c.coolingDown) ?? false;
}

/** Wall-clock start of the attempt that served (attempt times are performance.now() based). */
function servedSince(ctx: RequestContext, outcome: Outcome): number {
  const id = outcome.served!.id;
  const a = outcome.attempts.findLast((x) => x.target === id && x.errorClass === null);
  return a ? ctx.receivedAt + (a.startedAt - ctx.t0) : ctx.receivedAt;
}

/**
 * Circuit breaker per target. 429 cools a target until its Retry-After / rate-limit reset,
 * quota and bad-key errors for long, connect errors briefly; server errors and timeouts trip
 * it on consecutive-failure or failure-rate thresholds. After the cooldown one request is let
 * through (half-open); success closes the circuit, failure reopens it for longer.
 */
export default definePlugin<CooldownConfig>({
  name: 'cooldown',
  version: '1.0.0',
  config,
  hooks(api: PluginApi<CooldownConfig>) {
    const breaker = new Breaker(api.store, api.config);
    api.describeTargets((id) => {
      const c = breaker.circuit(id);
      const now = Date.now();
      const cooling = breaker.cooling(id, now);
      return { cooldown: { state: c.state === 'open' && !cooling ? 'half_open' : c.state, coolingDown: cooling, until: c.state === 'open' && c.until > now ? new Date(c.until).toISOString() : null, reason: c.reason } };
    });
    new Gauge({
      name: 'switchyard_cooldown_state',
      help: 'Circuit state per target: 0 closed, 1 half-open, 2 open (cooling down)',
      labelNames: ['route', 'target', 'provider'],
      registers: [api.metrics],
      collect() {
        this.reset();
        const now = Date.now();
        for (const r of api.routes().values()) {
          for (const t of r.targets) {
            const c = breaker.circuit(t.id);
            this.set({ route: r.model, target: t.id, provider: t.provider.id }, breaker.cooling(t.id, now) ? STATE_CODE.open : STATE_CODE[c.state]);
          }
        }
      },
    });
    return {
      // Only filters: the trial is claimed in beforeAttempt, for the target actually tried.
      selectProvider(ctx, plan) {
        const now = Date.now();
        if (!plan.candidates.some((c) => breaker.cooling(c.id, now))) return;
        const marked = plan.candidates.map((c) => ({ ...c, coolingDown: breaker.cooling(c.id, now) }));
        const ready = marked.filter((c) => !c.coolingDown);
        if (ready.length) return { ...plan, candidates: ready };
        const circuits = marked.map((c) => ({ c, circuit: breaker.circuit(c.id) }));
        const soonest = circuits.reduce((a, b) => (b.circuit.until < a.circuit.until ? b : a));
        if (ctx.route.whenAllCooling === 'try_least_bad') return { ...plan, candidates: [soonest.c], reason: `${plan.reason}; all cooling down, trying the least bad` };
        const retryAfter = Math.max(1, Math.ceil((soonest.circuit.until - now) / 1000));
        const limited = circuits.every((x) => x.circuit.reason === 'rate_limited' || x.circuit.reason === 'quota');
        throw new GatewayError('SY_ERR_ALL_COOLING_DOWN', `every target of route "${ctx.route.model}" is cooling down after upstream failures; retry in ${retryAfter} s`, {
          status: limited ? 429 : 503,
          headers: { 'retry-after': String(retryAfter), 'x-should-retry': 'false' },
        });
      },
      beforeAttempt(ctx, target) {
        const id = target.id;
        const state = breaker.circuit(id).state;
        if (state === 'closed') return;
        const claims = ctx.state.cooldown as Claim[] | undefined;
        if (claims?.some((x) => x.id === id && breaker.holds(id, x.owner))) return; // this request's own trial, tried again
        const now = Date.now();
        const owner = breaker.claimTrial(id, now, trialExpiry(ctx, now, api.config));
        if (owner) {
          if (claims) claims.push({ id, owner });
          else ctx.state.cooldown = [{ id, owner }];
          return;
        }
        // Still open (it cooled after the plan was made, e.g. by this request's own failure before a
        // retry, or try_least_bad chose it): tried as planned. Only another request's trial stops it.
        if (state === 'half_open' && breaker.cooling(id, now) && !plannedCooling(ctx, id)) return { skip: 'its half-open trial is held by another request' };
      },
      onError(_ctx, attempt, failure) {
        if (isRequestLevel(failure.class)) return;
        breaker.failure(attempt.target, failure.class, failure.retryAfterMs, Date.now());
      },
      // A trial whose attempt ended without the response's verdict (skipped after the claim, lost a
      // hedge, cut, failed for the request's own reasons) goes back now, not when the request ends.
      // A failure that counted has already moved the circuit on (release is then a no-op).
      afterAttempt(ctx, target, result) {
        if (result === 'answered') return; // the verdict comes with the response, in postResponse
        const claims = ctx.state.cooldown as Claim[] | undefined;
        const i = claims ? claims.findIndex((x) => x.id === target.id) : -1;
        if (i < 0) return;
        breaker.releaseTrial(target.id, claims![i]!.owner);
        claims!.splice(i, 1);
      },
      postResponse(ctx, outcome) {
        // A client that left says nothing either way (it may have left a stalled stream): no verdict.
        if (outcome.served && !outcome.interrupted && !outcome.clientAborted) breaker.success(outcome.served.id, Date.now(), servedSince(ctx, outcome));
        // A stream the gateway's own deadline cut after content flowed says nothing against the target.
        else if (outcome.served && outcome.interrupted && ctx.abort.reason !== 'deadline') breaker.failure(outcome.served.id, 'server_error', null, Date.now());
        // Every trial still held without a verdict goes back: the served attempt's client left,
        // or the request failed inside a plugin before afterAttempt could run.
        const claims = ctx.state.cooldown as Claim[] | undefined;
        if (claims) for (const { id, owner } of claims) breaker.releaseTrial(id, owner);
      },
    };
  },
});
