import { definePolicy } from 'switchyard/sdk';

/**
 * Tier routing by request metadata (`x-switchyard-metadata: {"tier":"premium"}`):
 * premium gets the most capable (priciest) target first and at most 3 attempts; free gets
 * only targets under $1 per 1M input tokens; everyone else keeps the route's order.
 */
export default definePolicy({
  name: 'tenant-tier',
  selectProvider({ request, candidates }) {
    const tier = request.metadata.tier ?? 'standard';
    if (tier === 'premium') {
      const order = [...candidates].sort((a, b) => b.price.output - a.price.output).map((c) => c.id);
      return { order, reason: 'premium: best first', maxAttempts: 3 };
    }
    if (tier === 'free') {
      const cheap = candidates.filter((c) => c.price.input < 1);
      return { order: (cheap.length ? cheap : candidates).map((c) => c.id), reason: 'free: budget targets only' };
    }
    return { order: candidates.map((c) => c.id), reason: `${tier}: route order` };
  },
});
