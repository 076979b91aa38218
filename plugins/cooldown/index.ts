import { z } from 'zod';
import { Gauge } from 'prom-client';
import { definePlugin, GatewayError, type Outcome, type PluginApi, type RequestContext } from '../../sdk/plugin.js';
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
}).prefault({});

const STATE_CODE = { closed: 0, half_open: 1, open: 2 } as const;

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
      selectProvider(ctx, plan) {
        const now = Date.now();
        let anyCooling = false;
        let claimed: string[] | null = null;
        for (const c of plan.candidates) {
          if (breaker.cooling(c.id, now)) anyCooling = true;
          else if (breaker.claimTrial(c.id, now)) (claimed ??= []).push(c.id);
        }
        if (claimed) ctx.state.cooldown = claimed;
        if (!anyCooling) return;
        const marked = plan.candidates.map((c) => ({ ...c, coolingDown: breaker.cooling(c.id, now) && !claimed?.includes(c.id) }));
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
      onError(_ctx, attempt, failure) {
        if (failure.class === 'request_invalid' || failure.class === 'context_length' || failure.class === 'content_filter') return;
        breaker.failure(attempt.target, failure.class, failure.retryAfterMs, Date.now());
      },
      postResponse(ctx, outcome) {
        const claimed = ctx.state.cooldown as string[] | undefined;
        if (claimed) for (const id of claimed) if (!outcome.attempts.some((a) => a.target === id)) breaker.releaseTrial(id);
        if (outcome.served && !outcome.interrupted) breaker.success(outcome.served.id, Date.now(), servedSince(ctx, outcome));
        else if (outcome.served && outcome.interrupted) breaker.failure(outcome.served.id, 'server_error', null, Date.now());
      },
    };
  },
});
