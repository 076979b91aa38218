import { randomUUID } from 'node:crypto';
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
  /**
   * Upper bound on how long a half-open trial that has not reported back holds the target.
   * Unset: the trial's own request deadline (see `trialExpiry` in index.ts).
   */
  trial_timeout_ms?: number | undefined;
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
  /** When the current half-open trial was claimed (0: no trial in flight). */
  trialStartedAt: number;
  /**
   * When an unreported trial is presumed lost and another request may claim one. Claims
   * always set it; a circuit written without it (an older replica) falls back to
   * trialStartedAt + LEGACY_TRIAL_EXPIRY_MS.
   */
  trialUntil?: number;
  /** Who holds the trial: only that claim may hand it back (a late release must not free a newer claim). */
  trialOwner?: string | null;
  /** When it last opened: a success of a request older than that says nothing about now. */
  openedAt: number;
}

const NS = 'cooldown';
const CLOSED: Circuit = { state: 'closed', until: 0, reason: null, consecutive: 0, windowStart: 0, windowTotal: 0, windowFailed: 0, trips: 0, trialStartedAt: 0, trialUntil: 0, trialOwner: null, openedAt: 0 };
/** The expiry trials had before it was derived per claim: only for circuits that lack trialUntil. */
const LEGACY_TRIAL_EXPIRY_MS = 30_000;
const NO_TRIAL = { trialStartedAt: 0, trialUntil: 0, trialOwner: null } as const;

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
    if (c.state === 'half_open' && c.trialStartedAt && now < (c.trialUntil || c.trialStartedAt + LEGACY_TRIAL_EXPIRY_MS)) return true;
    return false;
  }

  /**
   * A request may try a target whose cooldown ended: it holds the single trial until it
   * reports a verdict or hands the trial back, or until `expiresAt` (then it is presumed lost).
   * Returns the claim's owner token, or null if the trial is not free.
   */
  claimTrial(id: string, now: number, expiresAt: number): string | null {
    const c = this.circuit(id);
    if (c.state === 'closed' || this.cooling(id, now)) return null;
    const owner = randomUUID();
    this.store.set<Circuit>(NS, id, { ...c, state: 'half_open', trialStartedAt: now, trialUntil: Math.max(expiresAt, now + 1), trialOwner: owner });
    return owner;
  }

  /** Is the trial of `id` still the one claimed by `owner` (no verdict since, no newer claim)? */
  holds(id: string, owner: string): boolean {
    const c = this.circuit(id);
    return c.state === 'half_open' && c.trialOwner === owner;
  }

  /**
   * The request that claimed the trial learned nothing about the target (never tried it, the
   * client left, the deadline passed, a request-level error): let the next request try. A
   * no-op once a verdict moved the circuit on, or when another request holds the trial now.
   */
  releaseTrial(id: string, owner: string): void {
    const c = this.circuit(id);
    if (c.state === 'half_open' && c.trialOwner === owner) this.store.set<Circuit>(NS, id, { ...c, ...NO_TRIAL });
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
    this.store.set<Circuit>(NS, id, { ...c, state: 'open', until: now + openFor, reason, trips: c.trips + 1, ...NO_TRIAL, openedAt: now });
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
