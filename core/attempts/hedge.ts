import type { Exchange } from '../providers/types.js';
import type { Target } from '../routing/table.js';
import type { AttemptRecord, RequestContext } from '../pipeline/context.js';
import { sendAttempt, type AttemptResult } from './send.js';

export interface Tried {
  target: Target;
  res: AttemptResult;
  record: AttemptRecord;
  /** It lost a hedged race and was cut by the winner (not a failure of its own). */
  cancelled?: boolean;
}

/** One attempt, recorded. */
export async function tryTarget(ctx: RequestContext, target: Target, exchange: Exchange, stream: boolean, cancel?: AbortSignal): Promise<Tried> {
  const startedAt = performance.now();
  const res = await sendAttempt(ctx, target, exchange, stream, cancel);
  const record: AttemptRecord = {
    n: 0,
    target: target.id,
    provider: target.provider.id,
    model: target.model,
    status: res.ok ? 200 : res.failure.status,
    errorClass: res.ok ? null : res.failure.class,
    latencyMs: performance.now() - startedAt,
    startedAt,
  };
  if (!res.ok) record.message = res.failure.message;
  return { target, res, record };
}

/**
 * A hedged pair: start `first`; if it has produced no first byte (first content for streams)
 * after `afterMs`, start `second` too. The first to answer wins and the other is cancelled;
 * both are recorded (winner last, both marked hedged). Returns the attempts in record order.
 */
export async function hedgedPair(ctx: RequestContext, first: Target, second: Target, exchangeOf: (t: Target) => Exchange, stream: boolean, afterMs: number, admit: (t: Target) => Promise<boolean> = async () => true): Promise<Tried[]> {
  const cancelFirst = new AbortController();
  const cancelSecond = new AbortController();
  const pFirst = tryTarget(ctx, first, exchangeOf(first), stream, cancelFirst.signal);
  let timer: NodeJS.Timeout | undefined;
  const hedgeDue = new Promise<'hedge'>((resolve) => (timer = setTimeout(() => resolve('hedge'), afterMs)));
  const early = await Promise.race([pFirst, hedgeDue]);
  clearTimeout(timer);
  if (early !== 'hedge') return [early];
  // The hedge is a real attempt: it passes the target's own limits and the plugins' beforeAttempt, or is not made.
  const admitted = await admit(second).catch(async (err: unknown) => {
    // A critical plugin failed the request (or it was abandoned): the first half must not run on unwatched.
    cancelFirst.abort();
    const f = await pFirst;
    if (f.res.ok && f.res.kind === 'stream') f.res.stream.close();
    throw err;
  });
  if (!admitted) return [await pFirst];

  const pSecond = tryTarget(ctx, second, exchangeOf(second), stream, cancelSecond.signal);
  const settled: Tried[] = [];
  const winner = await new Promise<Tried | null>((resolve) => {
    const done = (t: Tried) => {
      settled.push(t);
      if (t.res.ok) resolve(t);
      else if (settled.length === 2) resolve(null);
    };
    void pFirst.then(done);
    void pSecond.then(done);
  });
  if (winner) {
    // Settled before the winner was known: it failed on its own; otherwise the abort cuts it.
    const failedFirst = settled.length === 2;
    (winner.target === first ? cancelSecond : cancelFirst).abort();
    const loser = await (winner.target === first ? pSecond : pFirst);
    if (!failedFirst) loser.cancelled = true;
    // Both answered at once: the loser's stream is closed unread.
    if (loser.res.ok && loser.res.kind === 'stream') loser.res.stream.close();
    loser.record.hedged = true;
    winner.record.hedged = true;
    return [loser, winner];
  }
  for (const t of settled) t.record.hedged = true;
  return settled;
}
