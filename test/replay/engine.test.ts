import t from 'tap';
import { closeCompiler, compilePolicyInline } from '../../policies/compile/compile.js';
import { PolicySandbox } from '../../policies/sandbox/sandbox.js';
import { arraySource, dryRun, resolveDecider, DryRunError, RECORDED, STATIC, type Decider, type DryRunReport } from '../../policies/replay/index.js';
import type { Capture } from '../../policies/capture/types.js';
import { capture, junk, looping, preferB, randomized, REPORT_KEYS, throwing } from './helpers.js';

t.teardown(() => closeCompiler());

async function policy(source: string, name = 'p.ts'): Promise<Decider> {
  return resolveDecider({ source, fileName: name }, null, 'candidate');
}

/** Four captures: recorded first targets a, a, b, a. */
function fixture(): Capture[] {
  return [
    capture(1, { recorded: ['a', 'b', 'c'], it: 1000, ot: 500 }),
    capture(2, { recorded: ['a', 'b', 'c'], it: 2000, ot: null, max: 100 }), // output falls back to max_tokens
    capture(3, { recorded: ['b', 'a', 'c'], it: null, ot: 50, est: 300 }), // input falls back to the estimate
    capture(4, { recorded: ['a', 'b', 'c'], it: 100, ot: 100 }),
  ];
}

t.test('a candidate that reorders: changed, shift and cost delta', async (t) => {
  const r = await dryRun({ captures: fixture(), candidate: await policy(preferB) });
  t.same(Object.keys(r).sort(), REPORT_KEYS, 'exactly the DESIGN.md report keys');
  t.equal(r.total, 4);
  t.equal(r.changed, 3, 'capture 3 already went to b');
  t.equal(r.changed_share, 0.75);
  t.same(r.shift, { a: { before: 0.75, after: 0 }, b: { before: 0.25, after: 1 } });
  // before: a (1000*1+500*2) + a (2000*1+100*2) + b (300*3+50*4) + a (100*1+100*2) = 2000+2200+1100+300 µ$
  // after:  b (1000*3+500*4) + b (2000*3+100*4) + b (1100)       + b (100*3+100*4) = 5000+6400+1100+700 µ$
  t.same(r.cost, { before_usd: 0.0056, after_usd: 0.0132, delta_usd: 0.0076 });
  t.equal(r.errors, 0);
  t.equal(r.timeouts, 0);
  t.ok(r.decision_us.p50 > 0 && r.decision_us.p99 >= r.decision_us.p50, 'decision time measured');
});

t.test('--down removes a provider from both plans, as if unreachable', async (t) => {
  const cand = await policy(preferB);
  const downB = await dryRun({ captures: fixture(), candidate: cand, down: ['b'] });
  t.equal(downB.changed, 0, 'with b down both plans start at a');
  t.same(downB.shift, { a: { before: 1, after: 1 } });
  t.equal(downB.cost.delta_usd, 0);

  const downA = await dryRun({ captures: fixture(), candidate: await resolveDecider('active', { get: async () => null, activeId: async () => null }, 'candidate'), down: ['a'] });
  t.same(downA.shift, { b: { before: 1, after: 1 } }, 'static order without a: b everywhere, like the recorded plans without a');
  t.equal(downA.changed, 0);

  const cheapestDown = await dryRun({ captures: fixture(), candidate: STATIC, baseline: RECORDED, down: ['a', 'b'] });
  t.same(cheapestDown.shift, { c: { before: 1, after: 1 } });
  t.same(cheapestDown.cost, { before_usd: 0.00245, after_usd: 0.00245, delta_usd: 0 }, 'priced at c: 1000 + 1100 + 200 + 150 µ$');

  const allDown = await dryRun({ captures: fixture(), candidate: cand, down: ['a', 'b', 'c'] });
  t.same(allDown.shift, { '(none)': { before: 1, after: 1 } }, 'nothing left to serve');
  t.same(allDown.cost, { before_usd: 0, after_usd: 0, delta_usd: 0 });
  t.equal(allDown.changed, 0);
});

t.test('against another decider: static order and a revision', async (t) => {
  const cand = await policy(preferB);
  const r = await dryRun({ captures: fixture(), candidate: cand, baseline: STATIC });
  t.equal(r.changed, 4, 'static order always starts at a');
  t.same(r.shift, { a: { before: 1, after: 0 }, b: { before: 0, after: 1 } });
  const same = await dryRun({ captures: fixture(), candidate: cand, baseline: cand });
  t.equal(same.changed, 0, 'a policy against itself changes nothing');
});

t.test('a throwing, a looping and a junk candidate fall back to the static order and are counted', async (t) => {
  const thrown = await dryRun({ captures: fixture(), candidate: await policy(throwing) });
  t.equal(thrown.errors, 4);
  t.equal(thrown.timeouts, 0);
  t.same(thrown.shift, { a: { before: 0.75, after: 1 }, b: { before: 0.25, after: 0 } }, 'served in route order');
  t.equal(thrown.changed, 1);

  const loops = await dryRun({ captures: fixture(), candidate: await policy(looping) });
  t.equal(loops.timeouts, 4);
  t.equal(loops.errors, 0);
  t.same(loops.shift.a, { before: 0.75, after: 1 });
  t.ok(loops.decision_us.p50 >= 5000, `timed-out decisions take the deadline (${loops.decision_us.p50} µs)`);

  const bad = await dryRun({ captures: fixture(), candidate: await policy(junk) });
  t.equal(bad.errors, 4, 'an order naming unknown targets is invalid output');
});

t.test('a policy that cannot even load is an error, not a report', async (t) => {
  const c = await compilePolicyInline(`import { definePolicy } from 'switchyard/sdk';\nthrow new Error('top level');\nexport default definePolicy({ name: 'x', selectProvider: ({ candidates }) => ({ order: candidates.map((c) => c.id) }) });\n`, 'load.ts');
  t.ok(c.ok);
  if (!c.ok) return;
  await t.rejects(dryRun({ captures: fixture(), candidate: { kind: 'policy', js: c.js, label: 'load.ts', revision: null } }), DryRunError);
  await t.rejects(dryRun({ captures: fixture(), candidate: RECORDED }), /baseline only/);
});

t.test('determinism: a policy that reads Date.now and Math.random replays exactly', async (t) => {
  const c = await compilePolicyInline(randomized, 'randomized.ts');
  if (!c.ok) throw new Error('compile');
  // "Live": decide each capture with the sandbox and record what it chose.
  const live = await PolicySandbox.create(c.js);
  t.teardown(() => live.dispose());
  const caps: Capture[] = [];
  for (let i = 0; i < 200; i++) {
    const cap = capture(i, { recorded: ['a', 'b', 'c'], it: 10, ot: 10, now: 1_700_000_000_000 + i * 7919, random: (i * 0.618034) % 1 });
    const r = live.selectProvider(cap.input);
    if (!r.ok) throw new Error(r.message);
    cap.decision.order = r.value.order;
    caps.push(cap);
  }
  const cand: Decider = { kind: 'policy', js: c.js, label: 'randomized', revision: c.hash };
  const r = await dryRun({ captures: caps, candidate: cand });
  t.equal(r.total, 200);
  t.equal(r.changed, 0, 'replaying the policy against its own recorded decisions changes nothing');
  t.equal(r.errors + r.timeouts, 0);
  t.ok(Object.keys(r.shift).length >= 2, `the policy really varies its choice: ${JSON.stringify(r.shift)}`);
  // The same captures with other seeds do change: the replay really uses input.now / input.random.
  const reseeded = caps.map((x, i) => ({ ...x, input: { ...x.input, random: ((i + 1) * 0.377) % 1 } }));
  t.ok((await dryRun({ captures: reseeded, candidate: cand })).changed > 0, 'a different seed gives different decisions');
});

t.test('since filters captures that carry a timestamp', async (t) => {
  const caps = fixture();
  caps[0]!.ts = 1000;
  const r = await dryRun({ captures: caps, candidate: STATIC, since: 2000 });
  t.equal(r.total, 3);
});

t.test('worker threads give the same report as the calling thread', async (t) => {
  const caps: Capture[] = [];
  for (let i = 0; i < 3000; i++) caps.push(capture(i, { recorded: i % 3 ? ['a', 'b', 'c'] : ['b', 'a', 'c'], it: 10 + (i % 50), ot: i % 7 ? 20 : null, random: (i * 0.137) % 1, now: 1_700_000_000_000 + i }));
  const cand = await policy(randomized);
  const strip = (r: DryRunReport) => ({ ...r, decision_us: null });
  let progressed = 0;
  const inline = await dryRun({ captures: arraySource(caps, 250), candidate: cand, baseline: await policy(preferB), workers: 0 });
  const pooled = await dryRun({ captures: arraySource(caps, 250), candidate: cand, baseline: await policy(preferB), workers: 2, onProgress: (n) => (progressed = n) });
  t.same(strip(pooled), strip(inline));
  t.equal(progressed, 3000, 'progress reaches the total');
  t.equal(inline.total, 3000);
  t.ok(inline.changed > 0);
});
