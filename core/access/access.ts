import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Failure } from '../attempts/failure.js';
import type { Outcome, RequestContext } from '../pipeline/context.js';
import type { Target } from '../routing/table.js';
import { budgetKey, fallbackCostUsd, formatUsd, periodOf } from './budgets.js';
import type { CounterStore } from './counters.js';
import { KeyRing, type ClientKey, type KeySpec } from './keys.js';
import { admit, formatDuration, type Limit } from './rate-limit.js';

/**
 * Who may use the data plane and how much: client keys (authentication happens in an
 * onRequest hook, see client-auth.ts), route ownership (403), spend budgets (402) and
 * rate limits (429) at admission — before any plugin hook or upstream call — and the
 * settlement of tokens and spend once the request is over.
 *
 * One Access per config (it is part of the PipelineState swapped on publish); the counter
 * store outlives it so a publish does not reset anyone's limits.
 */

/** Which key authenticated a request (set by the onRequest hook, read by handle()). */
const authenticated = new WeakMap<IncomingMessage, string>();

export function markAuthenticated(req: FastifyRequest, keyId: string): void {
  authenticated.set(req.raw, keyId);
}

interface Charges {
  access: Access;
  window: number;
  /** Estimated tokens charged at admission (key/route tpm buckets and gated targets). */
  estimate: number;
  tokenBuckets: string[];
  targets: { targetId: string; bucket: string | null; window: number }[];
}

const charges = new WeakMap<RequestContext, Charges>();

/** What access control needs from the config. */
export interface AccessConfig {
  keys: readonly KeySpec[];
}

export class Access {
  readonly keys: KeyRing;
  private lastStoreError = 0;

  constructor(config: AccessConfig, readonly store: CounterStore, private readonly log: Logger) {
    this.keys = new KeyRing(config.keys);
  }

  /** The key id the onRequest hook authenticated for this request, if any. */
  keyIdOf(req: FastifyRequest): string | null {
    return authenticated.get(req.raw) ?? null;
  }

  private storeFailed(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.lastStoreError < 10_000) return;
    this.lastStoreError = now;
    this.log.error({ err: { message: (err as Error)?.message, code: (err as { code?: string })?.code } }, `limit store failed (${what}): admitting without it`);
  }

  /** Tokens a request is charged at admission: estimated input + its output allowance. */
  private estimate(ctx: RequestContext): number {
    const cap = (n: unknown) => (typeof n === 'number' && n > 0 ? Math.min(Math.ceil(n), 1e9) : 0); // NaN, negatives → 0; Infinity → cap
    let out = ctx.summary.maxOutputTokens;
    if (out == null) for (const t of ctx.route.targets) out = Math.max(out ?? 0, t.maxOutputTokens ?? 0);
    return cap(ctx.summary.estimatedInputTokens) + cap(out);
  }

  /**
   * Admission: route ownership (403), budget (402), key and route rate limits (429, with
   * Retry-After and x-ratelimit-* headers). Throws a GatewayError to refuse; on success
   * the x-ratelimit-* headers go on the response. Null when there is nothing to check (no
   * client keys, no route rate limit): most requests then pay for no promise and no charge record.
   */
  admit(ctx: RequestContext): Promise<void> | null {
    const rl = ctx.route.rateLimit;
    if (!this.keys.enabled && !rl?.rpm && !rl?.tpm) return null;
    return this.admitChecked(ctx);
  }

  private async admitChecked(ctx: RequestContext): Promise<void> {
    let key: ClientKey | undefined;
    if (this.keys.enabled) {
      key = ctx.summary.keyId ? this.keys.byId(ctx.summary.keyId) : undefined;
      if (!key) throw new GatewayError('SY_ERR_UNAUTHORIZED', 'missing or invalid API key');
      if (!KeyRing.owns(key, ctx.route.model)) {
        throw new GatewayError('SY_ERR_FORBIDDEN', `this API key may not use model "${ctx.route.model}"`, { param: 'model' });
      }
    }
    const now = Date.now();
    if (key?.budget) {
      const { usd, period } = key.budget;
      let spent = 0;
      try {
        spent = await this.store.getTotal(budgetKey(key.id, period, now).key);
      } catch (err) {
        this.storeFailed(err, 'budget read');
      }
      if (spent >= usd) {
        const resets = new Date(periodOf(period, now).endsAt).toISOString();
        throw new GatewayError('SY_ERR_BUDGET_EXCEEDED', `spend budget exhausted for key ${key.id}: ${formatUsd(spent)} of ${formatUsd(usd)} per ${period} used; the budget resets at ${resets}`);
      }
    }

    const estimate = this.estimate(ctx);
    const limits: Limit[] = [];
    const add = (scope: string, bucket: string, rl: { rpm?: number; tpm?: number } | undefined) => {
      if (rl?.rpm) limits.push({ kind: 'requests', scope, bucket: `${bucket}:rpm`, limit: rl.rpm, amount: 1 });
      if (rl?.tpm) limits.push({ kind: 'tokens', scope, bucket: `${bucket}:tpm`, limit: rl.tpm, amount: estimate });
    };
    if (key) add(`key ${key.id}`, `key:${key.id}`, key.rateLimit);
    add(`route ${ctx.route.model}`, `route:${ctx.route.model}`, ctx.route.rateLimit);
    const c: Charges = { access: this, window: 0, estimate, tokenBuckets: [], targets: [] };
    charges.set(ctx, c);
    if (!limits.length) return;

    let adm;
    try {
      adm = await admit(this.store, limits, now);
    } catch (err) {
      this.storeFailed(err, 'rate limit');
      return;
    }
    if (adm.allowed) {
      c.window = adm.window;
      c.tokenBuckets = limits.filter((l) => l.kind === 'tokens').map((l) => l.bucket);
      Object.assign(ctx.responseHeaders, adm.headers);
      return;
    }
    const what = adm.refused.map((l) => `${l.scope} allows ${l.limit} ${l.kind} per minute`).join('; ');
    if (adm.tooLarge) {
      throw new GatewayError('SY_ERR_RATE_LIMITED', `request too large for the rate limit: it needs about ${estimate} tokens (input estimate + max tokens) and ${what}; lower max_tokens or the prompt size`, { headers: { ...adm.headers, 'x-should-retry': 'false' } });
    }
    throw new GatewayError('SY_ERR_RATE_LIMITED', `rate limit reached: ${what}; retry in ${formatDuration(adm.retryAfterMs)}`, { headers: adm.headers });
  }

  /**
   * Provider-facing limits (target `rate_limit`): charge one request (and the token estimate)
   * to the target before an attempt. A Failure means "skip to the next target".
   */
  async gateTarget(ctx: RequestContext, target: Target): Promise<Failure | null> {
    const rl = target.rateLimit;
    if (!rl || (!rl.rpm && !rl.tpm)) return null;
    let c = charges.get(ctx);
    if (!c) charges.set(ctx, (c = { access: this, window: 0, estimate: this.estimate(ctx), tokenBuckets: [], targets: [] }));
    const bucket = `target:${target.id}`;
    const limits: Limit[] = [];
    if (rl.rpm) limits.push({ kind: 'requests', scope: `target ${target.id}`, bucket: `${bucket}:rpm`, limit: rl.rpm, amount: 1 });
    if (rl.tpm) limits.push({ kind: 'tokens', scope: `target ${target.id}`, bucket: `${bucket}:tpm`, limit: rl.tpm, amount: c.estimate });
    let adm;
    try {
      adm = await admit(this.store, limits, Date.now());
    } catch (err) {
      this.storeFailed(err, 'target rate limit');
      return null;
    }
    if (adm.allowed) {
      c.targets.push({ targetId: target.id, bucket: rl.tpm ? `${bucket}:tpm` : null, window: adm.window });
      return null;
    }
    const what = adm.refused.map((l) => `${l.limit} ${l.kind} per minute`).join(', ');
    return { class: 'rate_limited', status: null, message: `target ${target.id} skipped: its gateway-side rate limit (${what}) is reached`, retryAfterMs: adm.tooLarge ? null : adm.retryAfterMs };
  }

  /** Whether settle() has anything to do for this request: token charges, or a key with a budget. */
  settles(ctx: RequestContext): boolean {
    return charges.has(ctx) || (ctx.summary.keyId !== null && this.keys.byId(ctx.summary.keyId)?.budget != null);
  }

  /**
   * After the response (and after the postResponse hooks, so the cost plugin has set
   * `outcome.costUsd`): settle token charges from real usage, and add the spend to the
   * key's budget. Never throws.
   */
  async settle(ctx: RequestContext, outcome: Outcome): Promise<void> {
    const c = charges.get(ctx);
    charges.delete(ctx);
    try {
      const usage = outcome.usage;
      const actual = usage ? usage.inputTokens + usage.outputTokens : outcome.served ? (c?.estimate ?? 0) : 0;
      if (c) {
        const delta = actual - c.estimate;
        const jobs: Promise<void>[] = [];
        if (delta !== 0) for (const b of c.tokenBuckets) jobs.push(this.store.adjust(b, c.window, delta));
        c.targets.forEach((t, i) => {
          if (!t.bucket) return;
          const servedHere = outcome.served?.id === t.targetId && i === c.targets.length - 1;
          const d = servedHere ? delta : -c.estimate;
          if (d !== 0) jobs.push(this.store.adjust(t.bucket, t.window, d));
        });
        await Promise.all(jobs);
      }
      const key = ctx.summary.keyId ? this.keys.byId(ctx.summary.keyId) : undefined;
      if (key?.budget) {
        const cost = outcome.costUsd ?? fallbackCostUsd(outcome.usage, outcome.served?.price);
        if (cost > 0 && Number.isFinite(cost)) {
          const b = budgetKey(key.id, key.budget.period, ctx.receivedAt);
          await this.store.addTotal(b.key, cost, b.endsAt + 86_400_000);
        }
      }
    } catch (err) {
      this.storeFailed(err, 'settlement');
    }
  }
}

/**
 * The attempt loop's hook for provider-facing limits: null to go ahead, a Failure to skip
 * this target. A no-op for requests admitted without an Access.
 */
export function gateTarget(ctx: RequestContext, target: Target): Promise<Failure | null> | null {
  const c = charges.get(ctx);
  return c && target.rateLimit ? c.access.gateTarget(ctx, target) : null;
}
