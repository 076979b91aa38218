import type { Logger } from 'pino';
import type { Config } from '../../core/config/schema.js';
import type { Db } from '../../core/store/db.js';
import { BatchWriter } from '../../core/store/batch.js';
import type { Plan, RequestContext, Outcome } from '../../core/pipeline/context.js';
import type { PolicyInput } from '../../sdk/types.js';
import type { PolicyCall } from '../runtime.js';
import type { Capture, CapturedDecision, CapturedOutcome } from './types.js';
import { redactBody } from './redact.js';

const INSERT = 'INSERT OR REPLACE INTO captures (id, ts, route, input, decision, outcome, bodies) VALUES (?,?,?,?,?,?,?)';

/**
 * Records each request's routing input (as the policy sees it: after every plugin's
 * selectProvider, before the policy's), the final decision and the outcome, in batches off
 * the request path. Prompts are stored only with `capture.prompts: true`; a sampled share of
 * fallback requests (`capture.fallback_bodies`) keeps redacted bodies for review.
 */
export class CaptureRecorder {
  /** Rows as INSERT parameters: the JSON columns are serialised on the request path, once. */
  readonly writer: BatchWriter<unknown[]>;
  private readonly retention: NodeJS.Timeout;

  constructor(private readonly db: Db, private readonly cfg: Config['capture'], log: Logger) {
    this.writer = new BatchWriter<unknown[]>(db, INSERT, (row) => row, {
      onError: (err) => log.error({ err }, 'capture write failed'),
    });
    const prune = async () => {
      try {
        await db.run('DELETE FROM captures WHERE ts < ?', [Date.now() - cfg.max_age_days * 86_400_000]);
        await db.run('DELETE FROM captures WHERE id IN (SELECT id FROM captures ORDER BY ts DESC LIMIT -1 OFFSET ?)', [cfg.max_rows]);
      } catch (err) {
        log.error({ err }, 'capture retention failed');
      }
    };
    this.retention = setInterval(() => void prune(), 10 * 60_000);
    this.retention.unref();
  }

  /**
   * selectProvider hook, registered just before the policy's: what the policy will see, as
   * the JSON the capture stores (serialising now is the snapshot: later hooks cannot change it).
   */
  snapshot = (ctx: RequestContext, plan: Plan): void => {
    const input: PolicyInput = { request: ctx.summary, candidates: plan.candidates, now: ctx.receivedAt, random: ctx.random };
    ctx.state.capture = JSON.stringify(input);
  };

  /** postResponse hook: the decision actually used and what happened. */
  record = (ctx: RequestContext, o: Outcome): void => {
    const input = ctx.state.capture as string | undefined;
    if (input === undefined || !ctx.plan) return;
    const call = ctx.state.policy as PolicyCall | undefined;
    const fellBack = o.attempts.length > 1 || (o.attempts[0]?.errorClass ?? null) !== null;
    let bodies: Capture['bodies'] = null;
    if (this.cfg.prompts) bodies = { request: redactBody(ctx.body) };
    else if (fellBack && this.cfg.fallback_bodies > 0 && Math.random() < this.cfg.fallback_bodies) bodies = { request: redactBody(ctx.body) };
    const decision: CapturedDecision = {
      order: ctx.plan.candidates.map((c) => c.id),
      reason: ctx.plan.reason,
      maxAttempts: ctx.plan.maxAttempts,
      hedgeAfterMs: ctx.plan.hedgeAfterMs ?? null,
      revision: call?.revision ?? null,
      policyError: call && !call.ok ? call.error : null,
    };
    const outcome: CapturedOutcome = {
      status: o.status,
      routeMode: o.routeMode,
      served: o.served?.id ?? null,
      attempts: o.attempts.map((a) => ({ target: a.target, provider: a.provider, status: a.status, errorClass: a.errorClass, latencyMs: Math.round(a.latencyMs * 100) / 100 })),
      inputTokens: o.usage?.inputTokens ?? ctx.summary.estimatedInputTokens,
      outputTokens: o.usage?.outputTokens ?? null,
      usageEstimated: o.usage?.estimated ?? true,
      costUsd: o.costUsd,
      latencyMs: Math.round(o.latencyMs * 100) / 100,
    };
    this.writer.push([ctx.id, ctx.receivedAt, ctx.route.model, input, JSON.stringify(decision), JSON.stringify(outcome), bodies ? JSON.stringify(bodies) : null]);
  };

  close(): Promise<void> {
    clearInterval(this.retention);
    return this.writer.flush();
  }
}
