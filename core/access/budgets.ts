import type { Price } from '../../sdk/types.js';
import type { Usage } from '../providers/types.js';

/** A budget period (UTC calendar day or month): its id and when it ends. */
export function periodOf(period: 'day' | 'month', now: number): { id: string; startsAt: number; endsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    const startsAt = Date.UTC(y, m, d.getUTCDate());
    return { id: new Date(startsAt).toISOString().slice(0, 10), startsAt, endsAt: startsAt + 86_400_000 };
  }
  const startsAt = Date.UTC(y, m, 1);
  return { id: new Date(startsAt).toISOString().slice(0, 7), startsAt, endsAt: Date.UTC(y, m + 1, 1) };
}

export function budgetKey(keyId: string, period: 'day' | 'month', now: number): { key: string; endsAt: number } {
  const p = periodOf(period, now);
  return { key: `budget:${keyId}:${period}:${p.id}`, endsAt: p.endsAt };
}

/**
 * USD of a finished request when the cost plugin did not set `outcome.costUsd` (it is not
 * loaded): usage × the served target's price (USD per 1M tokens). A configured budget is
 * never silently unenforced because a plugin is missing.
 */
export function fallbackCostUsd(usage: Usage | null, price: Price | undefined): number {
  if (!usage || !price) return 0;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const cachedPrice = price.cached_input ?? price.input;
  return ((usage.inputTokens - cached) * price.input + cached * cachedPrice + usage.outputTokens * price.output) / 1_000_000;
}

export function formatUsd(v: number): string {
  return `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
}
