import { definePolicy } from 'switchyard/sdk';

/**
 * Keep a conversation on one target (prompt caches stay warm): hash the conversation id
 * (`x-switchyard-conversation-id`) onto the healthy candidates; the others follow as fallbacks.
 */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export default definePolicy({
  name: 'conversation-pinning',
  selectProvider({ request, candidates }) {
    const conv = request.conversationId;
    if (!conv) return { order: candidates.map((c) => c.id), reason: 'no conversation id' };
    const healthy = candidates.filter((c) => c.healthy && !c.coolingDown);
    const pool = healthy.length ? healthy : candidates;
    const pinned = pool[hash(conv) % pool.length];
    return { order: [pinned, ...candidates.filter((c) => c !== pinned)].map((c) => c.id), reason: `pinned ${conv} to ${pinned.provider}` };
  },
});
