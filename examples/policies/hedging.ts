import { definePolicy } from 'switchyard/sdk';

/**
 * Tail-latency hedging: keep the route's order, and if the first target has not produced
 * its first byte after 250 ms, start the second as well; the first to answer wins.
 */
export default definePolicy({
  name: 'hedging',
  selectProvider({ candidates }) {
    return { order: candidates.map((c) => c.id), reason: 'hedge after 250 ms', hedgeAfterMs: 250 };
  },
});
