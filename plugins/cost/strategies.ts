import type { Candidate } from '../../sdk/types.js';

/** A small seeded PRNG (mulberry32) so weighted orders replay exactly from ctx.random. */
function prng(seed: number): () => number {
  let a = Math.floor(seed * 2 ** 32) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Healthy first, then the key ascending, then config order: never "cheapest at any price". */
function rank(candidates: Candidate[], key: (c: Candidate) => number): Candidate[] {
  return candidates
    .map((c, i) => ({ c, i, k: key(c) }))
    .sort((a, b) => Number(b.c.healthy) - Number(a.c.healthy) || a.k - b.k || a.i - b.i)
    .map((x) => x.c);
}

export function cheapest(candidates: Candidate[], cost: (c: Candidate) => number): Candidate[] {
  return rank(candidates, cost);
}

export function lowestLatency(candidates: Candidate[]): Candidate[] {
  // Unknown latency ranks after known: measured targets are a surer bet.
  return rank(candidates, (c) => c.latencyMs ?? Number.MAX_SAFE_INTEGER);
}

/** Weighted random order without replacement; healthy targets first. */
export function weighted(candidates: Candidate[], random: number): Candidate[] {
  const rnd = prng(random);
  const pick = (pool: Candidate[]) => {
    const out: Candidate[] = [];
    const left = pool.slice();
    while (left.length) {
      const total = left.reduce((s, c) => s + Math.max(0, c.weight), 0);
      let r = rnd() * total;
      let idx = left.length - 1;
      if (total > 0) {
        for (let i = 0; i < left.length; i++) {
          r -= Math.max(0, left[i].weight);
          if (r < 0) { idx = i; break; }
        }
      } else idx = 0;
      out.push(left.splice(idx, 1)[0]);
    }
    return out;
  };
  return [...pick(candidates.filter((c) => c.healthy)), ...pick(candidates.filter((c) => !c.healthy))];
}
