/**
 * Replay throughput: synthetic captures inserted into a temp data dir, then one dry-run of
 * revision A (candidate) against revision B (baseline), read from SQLite in pages, i.e. two
 * sandboxed decisions per capture. Target (issue 6): 100,000 captures in under 10 s on a
 * 2-core machine.
 *
 *   node dist/bench/replay.js [--captures N] [--workers N|auto] [--keep] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../core/store/db.js';
import { compilePolicyInline, formatDiagnostic } from '../policies/compile/compile.js';
import { RevisionStore } from '../policies/revisions/store.js';
import { dbSource, dryRun, resolveDecider, storeLookup } from '../policies/replay/index.js';
import type { Capture } from '../policies/capture/types.js';
import type { Candidate } from '../sdk/types.js';
import { argFlag, argValue } from './args.js';
import { SAMPLE_POLICY } from './sandbox.js';

/** A second revision that uses latency, health and the per-decision random stream. */
const WEIGHTED_POLICY = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'fast-or-explore',
  selectProvider({ candidates, request }) {
    const ok = candidates.filter((c) => c.healthy && !c.coolingDown);
    const pool = ok.length ? ok : candidates;
    const ranked = [...pool].sort((a, b) => (a.latencyMs ?? 1e9) - (b.latencyMs ?? 1e9));
    if (request.metadata.tier !== 'gold' && Math.random() < 0.1) ranked.reverse();
    return { order: ranked.map((c) => c.id), reason: 'fast, 10% explore' };
  },
});
`;

const PROVIDERS = ['openai', 'anthropic', 'groq', 'local'];
const PRICES = [
  { input: 0.15, output: 0.6 },
  { input: 3, output: 15 },
  { input: 0.05, output: 0.1 },
  { input: 0, output: 0 },
];

/** A capture shaped like the recorder's, with varied health, latency, tokens, time and seed. */
export function syntheticCapture(i: number, t0: number): Capture {
  const candidates: Candidate[] = PROVIDERS.map((p, k) => ({
    id: `workhorse#${k}:${p}/model-${k}`,
    provider: p,
    model: `model-${k}`,
    healthy: (i * 7 + k) % 11 !== 0,
    coolingDown: (i + k) % 29 === 0,
    healthScore: 0.5 + ((i + k) % 5) / 10,
    latencyMs: 150 + ((i * 13 + k * 71) % 400),
    price: PRICES[k]!,
    contextWindow: 128000,
    weight: 1,
    capabilities: ['chat', 'stream', 'tools'],
  }));
  const inputTokens = 200 + ((i * 37) % 3000);
  return {
    id: `bench-${i.toString(36)}`,
    ts: t0 + i,
    route: 'workhorse',
    input: {
      request: { model: 'workhorse', metadata: { team: i % 3 ? 'a' : 'b', tier: i % 5 ? 'std' : 'gold' }, keyId: `team-${i % 4}`, estimatedInputTokens: inputTokens, maxOutputTokens: i % 2 ? 512 : null, stream: i % 2 === 0, entry: 'openai.chat' },
      candidates,
      now: t0 + i,
      random: ((i * 2654435761) % 4294967296) / 4294967296,
    },
    decision: { order: candidates.map((c) => c.id), reason: 'route order', maxAttempts: 4, hedgeAfterMs: null, revision: null, policyError: null },
    outcome: { status: 200, routeMode: 'direct', served: candidates[0]!.id, attempts: [{ target: candidates[0]!.id, provider: 'openai', status: 200, errorClass: null, latencyMs: 210 }], inputTokens, outputTokens: 50 + (i % 400), usageEstimated: false, costUsd: null, latencyMs: 215 },
    bodies: null,
  };
}

async function insert(db: Db, n: number, t0: number): Promise<void> {
  const per = 200;
  await db.tx(async () => {
    for (let i = 0; i < n; i += per) {
      const rows: unknown[] = [];
      const m = Math.min(per, n - i);
      for (let j = 0; j < m; j++) {
        const c = syntheticCapture(i + j, t0);
        rows.push(c.id, c.ts, c.route, JSON.stringify(c.input), JSON.stringify(c.decision), JSON.stringify(c.outcome), null);
      }
      await db.run(`INSERT INTO captures (id, ts, route, input, decision, outcome, bodies) VALUES ${Array.from({ length: m }, () => '(?,?,?,?,?,?,?)').join(',')}`, rows);
    }
  });
}

async function main(): Promise<void> {
  const n = Number(argValue('--captures') ?? 100_000);
  const w = argValue('--workers') ?? 'auto';
  const workers = w === 'auto' ? 'auto' : Number(w);
  const log = (s: string) => process.stderr.write(s + '\n');
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-replay-'));
  const db = await Db.open(dir);
  try {
    const store = new RevisionStore(db);
    const revs: string[] = [];
    for (const [name, src] of [['cheapest-healthy.ts', SAMPLE_POLICY], ['fast-or-explore.ts', WEIGHTED_POLICY]] as const) {
      const c = await compilePolicyInline(src, name);
      if (!c.ok) throw new Error(c.diagnostics.map(formatDiagnostic).join('\n'));
      await store.put({ id: c.hash, scope: 'policy', name: c.name, source: src, compiled: c.js, author: 'bench', note: null });
      revs.push(c.hash);
    }
    log(`inserting ${n} synthetic captures into ${dir} ...`);
    const ti = performance.now();
    await insert(db, n, Date.now() - n);
    log(`inserted in ${((performance.now() - ti) / 1000).toFixed(1)} s`);

    const lookup = storeLookup(store);
    const candidate = await resolveDecider({ revision: revs[0]! }, lookup, 'candidate');
    const baseline = await resolveDecider({ revision: revs[1]! }, lookup, 'baseline');
    const load0 = loadavg()[0]!;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const source = await dbSource(db, 0);
    const report = await dryRun({ captures: source, candidate, baseline, workers });
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const result = {
      captures: report.total,
      decisions: report.total * 2,
      seconds: Math.round(secs * 100) / 100,
      captures_per_s: Math.round(report.total / secs),
      workers,
      cores: availableParallelism(),
      /** CPU time of the whole process (all threads) during the dry-run. */
      cpu_s: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
      loadavg_1m_before: Math.round(load0 * 100) / 100,
      target: '100,000 captures through two revisions in < 10 s',
      meets_target: report.total >= 100_000 ? secs < 10 : null,
      report,
    };
    if (argFlag('--json')) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      process.stdout.write(
        `replay: ${result.captures} captures x 2 revisions in ${result.seconds} s = ${result.captures_per_s} captures/s ` +
          `(workers ${workers}, ${result.cores} cores, ${result.cpu_s} CPU-s, load avg before ${result.loadavg_1m_before})` +
          (result.meets_target === null ? '\n' : `; target < 10 s for 100k: ${result.meets_target ? 'met' : 'NOT met'}\n`),
      );
      process.stdout.write(`changed ${report.changed} (${(report.changed_share * 100).toFixed(1)}%), errors ${report.errors}, timeouts ${report.timeouts}, decision p50 ${report.decision_us.p50} µs p99 ${report.decision_us.p99} µs\n`);
    }
  } finally {
    await db.close();
    if (!argFlag('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
