/**
 * Sandbox cost per decision: p50/p99 µs of PolicySandbox.selectProvider, boundary and output
 * validation included, with 4 candidates: a small cheapest-healthy policy (the headline line),
 * the same over the whole-JSON boundary, and each example policy in examples/policies/.
 *
 *   node dist/bench/sandbox.js [calls]     (from the repository root)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compilePolicyInline, formatDiagnostic } from '../policies/compile/compile.js';
import { PolicySandbox } from '../policies/sandbox/sandbox.js';
import type { Candidate, PolicyInput } from '../sdk/types.js';

export const SAMPLE_POLICY = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'cheapest-healthy',
  selectProvider({ candidates }) {
    const ok = candidates.filter((c) => c.healthy && !c.coolingDown);
    return {
      order: ok.sort((a, b) => a.price.input - b.price.input).map((c) => c.id),
      reason: 'cheapest healthy',
    };
  },
});
`;

export function sampleInput(i: number): PolicyInput {
  const providers = ['openai', 'anthropic', 'groq', 'local'];
  const candidates: Candidate[] = providers.map((p, k) => ({
    id: `workhorse#${k}:${p}/model-${k}`,
    provider: p,
    model: `model-${k}`,
    healthy: (i + k) % 7 !== 0,
    coolingDown: false,
    healthScore: 0.9,
    latencyMs: 200 + k * 50,
    price: { input: [0.15, 3, 0.05, 0][k]!, output: [0.6, 15, 0.1, 0][k]! },
    contextWindow: 128000,
    weight: 1,
    capabilities: ['chat', 'stream'],
  }));
  return {
    request: {
      model: 'workhorse',
      metadata: { team: 'a' },
      keyId: 'team-a',
      estimatedInputTokens: 1200,
      maxOutputTokens: 512,
      stream: true,
      entry: 'openai.chat',
    },
    candidates,
    now: 1_700_000_000_000 + i,
    random: (i % 1000) / 1000,
  };
}

export interface SandboxBench {
  /** Which policy: 'sample' (SAMPLE_POLICY) or an example's file name. */
  policy: string;
  /** 'compact': the default boundary (encode.ts); 'json': the whole input as JSON (compactBoundary: false). */
  boundary: 'compact' | 'json';
  calls: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
  errors: number;
  /** Size of one input as JSON. */
  input_bytes: number;
  /**
   * p50 of a host-side JSON.stringify + JSON.parse of the same input: a yardstick for how fast
   * this machine is, so runs on different machines can be compared.
   */
  host_json_p50_us: number;
  /**
   * p50 of a call whose candidate set the sandbox has not seen (its builder is compiled and
   * installed first); 0 for the json boundary.
   */
  new_set_p50_us: number;
}

export interface SandboxBenchOptions {
  /** Policy source (TypeScript); SAMPLE_POLICY by default. */
  source?: string;
  /** Label for the result. */
  policy?: string;
  boundary?: 'compact' | 'json';
}

export async function benchSandbox(calls = 20_000, warmup = 5_000, o: SandboxBenchOptions = {}): Promise<SandboxBench> {
  const policy = o.policy ?? 'sample';
  const boundary = o.boundary ?? 'compact';
  const compiled = await compilePolicyInline(o.source ?? SAMPLE_POLICY, `bench/${policy}.ts`);
  if (!compiled.ok) throw new Error(compiled.diagnostics.map(formatDiagnostic).join('\n'));
  const sandbox = await PolicySandbox.create(compiled.js, { compactBoundary: boundary === 'compact' });
  // Inputs are built up front: the bench measures the sandbox, not object construction.
  const inputs = Array.from({ length: 64 }, (_, i) => sampleInput(i));
  let errors = 0;
  for (let i = 0; i < warmup; i++) sandbox.selectProvider(inputs[i % inputs.length]!);
  // V8 runs WASM on its baseline compiler first and tiers hot functions up on background
  // threads: on a busy machine that takes a while, and a bench that starts measuring right
  // away measures the baseline code (run to run: p50 20 µs, then 27 µs). Let it settle.
  await new Promise((r) => setTimeout(r, 250));
  for (let i = 0; i < warmup; i++) sandbox.selectProvider(inputs[i % inputs.length]!);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const r = sandbox.selectProvider(inputs[i % inputs.length]!);
    times[i] = (performance.now() - t0) * 1000;
    if (!r.ok) errors++;
  }
  // Calls on candidate sets never seen before: ids renamed per call.
  const fresh = new Float64Array(boundary === 'compact' ? 200 : 0);
  for (let i = 0; i < fresh.length; i++) {
    const input = sampleInput(i);
    for (const c of input.candidates) c.id = `${c.id}~${i}`;
    const t0 = performance.now();
    const r = sandbox.selectProvider(input);
    fresh[i] = (performance.now() - t0) * 1000;
    if (!r.ok) errors++;
  }
  sandbox.dispose();
  const host = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    JSON.parse(JSON.stringify(inputs[i % inputs.length]!));
    host[i] = (performance.now() - t0) * 1000;
  }
  return {
    policy,
    boundary,
    calls,
    p50_us: pct(times, 0.5),
    p99_us: pct(times, 0.99),
    mean_us: round(times.reduce((a, b) => a + b, 0) / calls),
    errors,
    input_bytes: JSON.stringify(inputs[0]).length,
    host_json_p50_us: pct(host, 0.5),
    new_set_p50_us: fresh.length ? pct(fresh, 0.5) : 0,
  };
}

function pct(xs: Float64Array, p: number): number {
  const sorted = xs.slice().sort();
  return round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
}

const round = (n: number) => Math.round(n * 10) / 10;

/** The example policies (examples/policies/*.ts under the working directory), by file name. */
function examplePolicies(): [string, string][] {
  const dir = 'examples/policies';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => [f.replace(/\.ts$/, ''), readFileSync(join(dir, f), 'utf8')]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const calls = Number(process.argv[2] ?? 20_000);
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  let before = '';
  try {
    before = load();
  } catch {
    // not Linux
  }
  const line = (r: SandboxBench) =>
    `${r.policy.padEnd(22)} ${r.boundary.padEnd(8)} p50 ${String(r.p50_us).padStart(5)} µs  p99 ${String(r.p99_us).padStart(6)} µs  ` +
    `mean ${String(r.mean_us).padStart(6)} µs  new set p50 ${String(r.new_set_p50_us).padStart(5)} µs  (${r.errors} errors)`;
  const sample = await benchSandbox(calls);
  console.log(
    `sandbox selectProvider: p50 ${sample.p50_us} µs, p99 ${sample.p99_us} µs, mean ${sample.mean_us} µs over ${sample.calls} calls ` +
      `(${sample.errors} errors; ${sample.input_bytes}-byte input; host JSON round trip p50 ${sample.host_json_p50_us} µs)`,
  );
  console.log(line(sample));
  console.log(line(await benchSandbox(calls, undefined, { boundary: 'json' })));
  for (const [policy, source] of examplePolicies()) console.log(line(await benchSandbox(calls, undefined, { policy, source })));
  if (before) console.log(`load average before ${before}, after ${load()} (${availableParallelism()} cores)`);
}
