import type { StateStore } from '../../sdk/plugin.js';

interface Health {
  /** EWMA of time to first content, ms. */
  latencyMs: number | null;
  /** EWMA of failures (1) and successes (0), decayed toward 0 over idle time. */
  errorRate: number;
  updated: number;
  samples: number;
  lastError: number | null;
}

const NS = 'health';

/** The scoring maths, over the shared state store. */
export class HealthTracker {
  constructor(
    private readonly store: StateStore,
    private readonly cfg: { alpha: number; half_life_ms: number },
  ) {}

  private read(id: string): Health {
    return this.store.get<Health>(NS, id) ?? { latencyMs: null, errorRate: 0, updated: 0, samples: 0, lastError: null };
  }

  private decayed(h: Health, now: number): number {
    if (!h.updated) return h.errorRate;
    return h.errorRate * Math.pow(0.5, (now - h.updated) / this.cfg.half_life_ms);
  }

  private record(id: string, failed: boolean, latencyMs: number | null, now = Date.now()): void {
    const h = this.read(id);
    const a = this.cfg.alpha;
    const rate = this.decayed(h, now);
    this.store.set<Health>(NS, id, {
      latencyMs: latencyMs == null ? h.latencyMs : h.latencyMs == null ? latencyMs : h.latencyMs + a * (latencyMs - h.latencyMs),
      errorRate: rate + a * ((failed ? 1 : 0) - rate),
      updated: now,
      samples: h.samples + 1,
      lastError: failed ? now : h.lastError,
    });
  }

  success(id: string, latencyMs: number): void {
    this.record(id, false, latencyMs);
  }

  failure(id: string): void {
    this.record(id, true, null);
  }

  /** 1 − decayed error rate: 1 is perfect, 0 is failing every time. */
  score(id: string, now = Date.now()): number {
    return 1 - this.decayed(this.read(id), now);
  }

  latency(id: string): number | null {
    const l = this.read(id).latencyMs;
    return l == null ? null : Math.round(l * 10) / 10;
  }

  describe(id: string): Record<string, unknown> {
    const h = this.read(id);
    const now = Date.now();
    return { healthScore: Math.round(this.score(id, now) * 1000) / 1000, errorRate: Math.round(this.decayed(h, now) * 1000) / 1000, latencyMs: this.latency(id), samples: h.samples, lastErrorAt: h.lastError ? new Date(h.lastError).toISOString() : null };
  }
}
