import type { Candidate } from '../../sdk/types.js';
import type { Capture } from '../../policies/capture/types.js';

export const ADMIN = 'admin-token-0123456789abcdef';
export const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
export const CLI = 'dist/core/cli/main.js';

/** Prices per provider (USD / 1M tokens). */
export const PRICES: Record<string, { input: number; output: number }> = {
  a: { input: 1, output: 2 },
  b: { input: 3, output: 4 },
  c: { input: 0.5, output: 1 },
};

export function candidate(p: string, k: number, over: Partial<Candidate> = {}): Candidate {
  return { id: `m#${k}:${p}/model-${p}`, provider: p, model: `model-${p}`, healthy: true, coolingDown: false, healthScore: 1, latencyMs: null, price: PRICES[p]!, contextWindow: null, weight: 1, capabilities: [], ...over };
}

/** A hand-made capture over candidates a, b, c (route order), recorded order given by provider ids. */
export function capture(i: number, o: { recorded: string[]; it: number | null; ot: number | null; est?: number; max?: number | null; now?: number; random?: number; ts?: number }): Capture {
  const candidates = ['a', 'b', 'c'].map((p, k) => candidate(p, k));
  const id = (p: string) => candidates.find((c) => c.provider === p)!.id;
  return {
    id: `cap-${i}`,
    ts: o.ts ?? Date.now(),
    route: 'm',
    input: {
      request: { model: 'm', metadata: {}, keyId: null, estimatedInputTokens: o.est ?? 300, maxOutputTokens: o.max === undefined ? 100 : o.max, stream: false, entry: 'openai.chat' },
      candidates,
      now: o.now ?? 1_700_000_000_000 + i,
      random: o.random ?? 0.5,
    },
    decision: { order: o.recorded.map(id), reason: 'x', maxAttempts: 3, hedgeAfterMs: null, revision: null, policyError: null },
    outcome: { status: 200, routeMode: 'direct', served: id(o.recorded[0]!), attempts: [], inputTokens: o.it, outputTokens: o.ot, usageEstimated: false, costUsd: null, latencyMs: 1 },
    bodies: null,
  };
}

const header = `import { definePolicy } from 'switchyard/sdk';\n`;

/** Puts provider b first, the rest in route order. */
export const preferB = `${header}export default definePolicy({
  name: 'prefer-b',
  selectProvider({ candidates }) {
    const b = candidates.filter((c) => c.provider === 'b');
    return { order: [...b, ...candidates.filter((c) => c.provider !== 'b')].map((c) => c.id), reason: 'b first' };
  },
});
`;

export const throwing = `${header}export default definePolicy({ name: 'broken', selectProvider() { throw new Error('nope'); } });
`;

export const looping = `${header}export default definePolicy({
  name: 'loops',
  selectProvider({ candidates }) {
    let n = 0;
    for (;;) n++;
  },
});
`;

export const junk = `${header}export default definePolicy({ name: 'junk', selectProvider() { return { order: ['no-such-target'] }; } });
`;

/** Uses the clock and the random stream: only replayable because both come from the input. */
export const randomized = `${header}export default definePolicy({
  name: 'randomized',
  selectProvider({ candidates }) {
    const ids = candidates.map((c) => c.id);
    const k = Math.floor(Math.random() * ids.length);
    const rotated = ids.slice(k).concat(ids.slice(0, k));
    if (Date.now() % 2 === 1 || new Date().getMilliseconds() % 3 === 0) rotated.reverse();
    if (Math.random() < 0.3) rotated.push(rotated.shift()!);
    return { order: rotated, reason: 'dice' };
  },
});
`;

/** The report's exact key set (DESIGN.md). */
export const REPORT_KEYS = ['changed', 'changed_share', 'cost', 'decision_us', 'errors', 'shift', 'timeouts', 'total'];
