import { definePolicy } from 'switchyard/sdk';

/** The cheapest target that is healthy and not cooling down; the rest after, cheapest first. */
export default definePolicy({
  name: 'cheapest-healthy',
  selectProvider({ request, candidates }) {
    const cost = (c: (typeof candidates)[number]) => request.estimatedInputTokens * c.price.input + (request.maxOutputTokens ?? 1024) * c.price.output;
    const ok = candidates.filter((c) => c.healthy && !c.coolingDown).sort((a, b) => cost(a) - cost(b));
    const rest = candidates.filter((c) => !ok.includes(c)).sort((a, b) => cost(a) - cost(b));
    return { order: [...ok, ...rest].map((c) => c.id), reason: ok.length ? `cheapest healthy: ${ok[0].provider}` : 'none healthy: cheapest first' };
  },
});
