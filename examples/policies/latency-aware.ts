import { definePolicy } from 'switchyard/sdk';

/**
 * Fastest first, but only among targets above a quality floor (health score >= 0.8); targets
 * with no latency measured yet go after measured ones. Below the floor: config order.
 */
const FLOOR = 0.8;

export default definePolicy({
  name: 'latency-aware',
  selectProvider({ candidates }) {
    const good = candidates.filter((c) => c.healthScore >= FLOOR && !c.coolingDown);
    good.sort((a, b) => (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity));
    const rest = candidates.filter((c) => !good.includes(c));
    return { order: [...good, ...rest].map((c) => c.id), reason: good.length ? `fastest above ${FLOOR}: ${good[0].provider}` : 'nothing above the floor' };
  },
});
