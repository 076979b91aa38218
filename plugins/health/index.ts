import { z } from 'zod';
import { Gauge } from 'prom-client';
import { definePlugin, isRequestLevel, type PluginApi, type Target } from '../../sdk/plugin.js';
import type { Candidate } from '../../sdk/types.js';
import { HealthTracker } from './tracker.js';
import { startProbes } from './probes.js';

const config = z.strictObject({
  /** Weight of the newest sample in the latency EWMA. */
  alpha: z.number().gt(0).lte(1).default(0.2),
  /** Error rate decays toward 0 with this half-life when a target is not used. */
  half_life_ms: z.number().int().positive().default(60_000),
  /** A candidate is `healthy: false` below this score. */
  unhealthy_below: z.number().min(0).max(1).default(0.5),
}).prefault({});

type HealthConfig = z.infer<typeof config>;

/**
 * Passive health scoring per target (EWMA of latency and error rate, time-decayed), plus
 * optional active probes per provider (`providers[].probe`). Offers `healthScore`,
 * `latencyMs` and `healthy` to selectProvider as candidate fields; it never reorders.
 */
export default definePlugin<HealthConfig>({
  name: 'health',
  version: '1.0.0',
  config,
  hooks(api: PluginApi<HealthConfig>) {
    const tracker = new HealthTracker(api.store, api.config);
    api.describeTargets((id) => tracker.describe(id));
    new Gauge({
      name: 'switchyard_health_score',
      help: 'Health score per target (0..1)',
      labelNames: ['route', 'target', 'provider'],
      registers: [api.metrics],
      collect() {
        this.reset();
        for (const r of api.routes().values()) for (const t of r.targets) this.set({ route: r.model, target: t.id, provider: t.provider.id }, tracker.score(t.id));
      },
    });
    const stop = startProbes(api, (t: Target, ok: boolean, ms: number) => (ok ? tracker.success(t.id, ms) : tracker.failure(t.id)));
    api.onClose(stop);
    return {
      selectProvider(_ctx, plan) {
        const now = Date.now();
        const candidates: Candidate[] = plan.candidates.map((c) => {
          const score = tracker.score(c.id, now);
          return { ...c, healthScore: score, latencyMs: tracker.latency(c.id), healthy: c.healthy && score >= api.config.unhealthy_below };
        });
        return { ...plan, candidates };
      },
      onError(_ctx, attempt, failure) {
        // Request-level problems say nothing about the target's health.
        if (isRequestLevel(failure.class)) return;
        tracker.failure(attempt.target);
      },
      postResponse(ctx, outcome) {
        if (!outcome.served || outcome.clientAborted) return;
        // A stream the request's own deadline cut after content flowed is no fault of the target.
        if (outcome.interrupted) {
          if (ctx.abort.reason !== 'deadline') tracker.failure(outcome.served.id);
        }
        else tracker.success(outcome.served.id, outcome.ttftMs ?? outcome.latencyMs);
      },
    };
  },
});
