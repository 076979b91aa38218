import type { FailureClass } from '../../sdk/types.js';
import type { StateStore } from '../../sdk/plugin.js';

export interface CooldownConfig {
  consecutive_failures: number;
  failure_rate: number;
  min_requests: number;
  window_ms: number;
  base_ms: number;
  max_ms: number;
  rate_limited_ms: number;
  overloaded_ms: number;
  connect_error_ms: number;
  quota_ms: number;
  account_auth_ms: number;
}

/** One target's circuit: closed (serving), open (cooling until `until`), half-open (one trial). */
export interface Circuit {
  state: 'closed' | 'open' | 'half_open';
  until: number;
  reason: FailureClass | 'failure_rate' | 'consecutive_failures' | null;
  consecutive: number;
  /** Outcomes in the current window. */
  windowStart: number;
  windowTotal: number;
  windowFailed: number;
  /** Times opened in a row without a success in between (backoff for repeated trips). */
  trips: number;
  trialStartedAt: number;
  /** When it last opened: a success of a request older than that says nothing about now. */
  openedAt: number;
}

const NS = 'cooldown';
const CLOSED: Circuit = { state: 'closed', until: 0, reason: null, consecutive: 0, windowStart: 0, windowTotal: 0, windowFailed: 0, trips: 0, trialStartedAt: 0, openedAt: 0 };

/** Classes that cool a target at once, for how long (Retry-After wins where the upstream gave one). */
function immediate(cls: FailureClass, cfg: CooldownConfig): number | null {
  switch (cls) {
    case 'rate_limited': return cfg.rate_limited_ms;
    case 'overloaded': return cfg.overloaded_ms;
    case 'connect_error': return cfg.connect_error_ms;
    case 'quota': return cfg.quota_ms;
    case 'account_auth': return cfg.account_auth_ms;
    default: return null;
  }
}

/** The circuit-breaker rules, over the shared state store. */
export class Breaker {
  constructor(private readonly store: StateStore, private readonly cfg: CooldownConfig) {}

  circuit(id: string): Circuit {
    return this.store.get<Circuit>(NS, id) ?? CLOSED;
  }

  /** Is the target out of rotation now? An open circuit past its time becomes half-open: one trial. */
  cooling(id: string, now: number): boolean {
    const c = this.circuit(id);
    if (c.state === 'closed') return false;
    if (c.state === 'open' && now < c.until) return true;
    // half-open: a single trial at a time; a trial that never reported back expires.
    if (c.state === 'half_open' && c.trialStartedAt && now - c.trialStartedAt < 30_000) return true;
    return false;
  }

  /** A request may try a target whose cooldown ended: it holds the single trial. True if claimed. */
  claimTrial(id: string, now: number): boolean {
    const c = this.circuit(id);
    if (c.state === 'closed' || this.cooling(id, now)) return false;
    this.store.set<Circuit>(NS, id, { ...c, state: 'half_open', trialStartedAt: now });
    return true;
  }

  /** The request that held the trial never tried the target: let the next one. */
  releaseTrial(id: string): void {
    const c = this.circuit(id);
    if (c.state === 'half_open') this.store.set<Circuit>(NS, id, { ...c, trialStartedAt: 0 });
  }

  failure(id: string, cls: FailureClass, retryAfterMs: number | null, now: number): void {
    const cfg = this.cfg;
    const c = { ...this.circuit(id) };
    if (now - c.windowStart > cfg.window_ms) Object.assign(c, { windowStart: now, windowTotal: 0, windowFailed: 0 });
    c.windowTotal++;
    c.windowFailed++;
    c.consecutive++;
    let openFor: number | null = immediate(cls, cfg);
    let reason: Circuit['reason'] = cls;
    if (openFor !== null && retryAfterMs != null && (cls === 'rate_limited' || cls === 'overloaded' || cls === 'quota')) openFor = Math.min(Math.max(retryAfterMs, 1000), cfg.max_ms);
    if (openFor === null) {
      if (c.consecutive >= cfg.consecutive_failures) reason = 'consecutive_failures';
      else if (c.windowTotal >= cfg.min_requests && c.windowFailed / c.windowTotal >= cfg.failure_rate) reason = 'failure_rate';
      else if (c.state === 'half_open') reason = cls;
      else {
        this.store.set(NS, id, c);
        return;
      }
      openFor = Math.min(cfg.base_ms * 2 ** c.trips, cfg.max_ms);
    }
    this.store.set<Circuit>(NS, id, { ...c, state: 'open', until: now + openFor, reason, trips: c.trips + 1, trialStartedAt: 0, openedAt: now });
  }

  /** `since`: when the attempt that succeeded started (defaults to now). */
  success(id: string, now: number, since = now): void {
    const c = this.circuit(id);
    // A request in flight when the target was cooled (a 429 to a concurrent one) may still
    // succeed: that must not close the circuit before Retry-After; its trial will.
    if (c.state !== 'closed' && since < (c.openedAt ?? 0)) return;
    if (c.state === 'closed' && c.consecutive === 0 && now - c.windowStart <= this.cfg.window_ms && c.windowTotal > 0) {
      this.store.set<Circuit>(NS, id, { ...c, windowTotal: c.windowTotal + 1 });
      return;
    }
    const fresh = now - c.windowStart > this.cfg.window_ms;
    this.store.set<Circuit>(NS, id, { ...CLOSED, windowStart: fresh ? now : c.windowStart, windowTotal: fresh ? 1 : c.windowTotal + 1, windowFailed: fresh ? 0 : c.windowFailed });
  }
}
