import { createHash } from 'node:crypto';
import t from 'tap';
import { closeCompiler, compilePolicy, compilePolicyInline, formatDiagnostic, type CompileResult } from '../../policies/compile/compile.js';
import { PolicySandbox } from '../../policies/sandbox/sandbox.js';
import { ids, input } from './fixtures/policies.js';

const opts = { timeout: 60_000 };
t.teardown(() => closeCompiler());

/** The DESIGN.md example. */
const EXAMPLE = `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({
  name: 'cheapest-healthy',
  selectProvider({ request, candidates, now, random }) {
    const ok = candidates.filter(c => c.healthy && !c.coolingDown);
    return { order: ok.sort((a, b) => a.price.input - b.price.input).map(c => c.id), reason: 'cheapest healthy' };
  },
  onError({ attempt, failure, remaining }) { return { action: 'fallback' }; },
});
`;

const diagnostics = (r: CompileResult) => (r.ok ? [] : r.diagnostics.map(formatDiagnostic));

t.test('compiles the documented example', opts, async (t) => {
  const r = await compilePolicyInline(EXAMPLE, 'policies/cheapest.ts');
  t.same(diagnostics(r), []);
  if (!r.ok) return;
  t.equal(r.name, 'cheapest-healthy');
  t.equal(r.hash, createHash('sha256').update(EXAMPLE).digest('hex'), 'hash is sha256 of the source');
  t.notMatch(r.js, /\bimport\b|\bexport\b/, 'a plain script');

  const again = await compilePolicyInline(EXAMPLE, 'elsewhere.ts');
  t.equal(again.ok && again.hash, r.hash, 'hash is stable and ignores the file name');
  const changed = await compilePolicyInline(EXAMPLE.replace('cheapest healthy', 'cheapest'), 'policies/cheapest.ts');
  t.not(changed.ok && changed.hash, r.hash, 'any change is a new revision');

  const sb = await PolicySandbox.create(r.js);
  t.teardown(() => sb.dispose());
  t.equal(sb.name, 'cheapest-healthy');
  const d = sb.selectProvider(input());
  t.same(d.ok && d.value, { order: [ids[2], ids[0], ids[3], ids[1]], reason: 'cheapest healthy' }, 'runs in the sandbox');
  const e = sb.onError({ ...input(), attempt: { n: 1, target: ids[0]!, provider: 'openai', model: 'gpt', status: 500, errorClass: 'server_error', latencyMs: 3 }, failure: { class: 'server_error', status: 500, message: '', retryAfterMs: null }, remaining: [] });
  t.same(e && e.ok && e.value, { action: 'fallback' });
});

t.test('type errors point at file:line:col', opts, async (t) => {
  const src = `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({
  name: 'typo',
  selectProvider({ candidates }) {
    return { order: candidates.map(c => c.idd) };
  },
});
`;
  const r = await compilePolicyInline(src, 'policies/typo.ts');
  t.same(diagnostics(r), ["policies/typo.ts:5:43 Property 'idd' does not exist on type 'Candidate'."]);

  const wrongReturn = await compilePolicyInline(
    `import { definePolicy } from 'switchyard/sdk';\nexport default definePolicy({ name: 'x', selectProvider() { return { order: 'a' }; } });\n`,
    'p.ts',
  );
  t.match(diagnostics(wrongReturn), [/^p\.ts:2:\d+ .*string.*not assignable/]);
  const strict = await compilePolicyInline(
    `import { definePolicy } from 'switchyard/sdk';\nexport default definePolicy({ name: 'x', selectProvider(input) { let n; const m: number = null; return { order: [] }; } });\n`,
    'p.ts',
  );
  t.match(diagnostics(strict), [/^p\.ts:2:\d+ Type 'null' is not assignable to type 'number'/], 'strict null checks are on');
});

t.test('only switchyard/sdk may be imported', opts, async (t) => {
  const src = `import { definePolicy } from 'switchyard/sdk';
import fs from 'node:fs';
  import { x } from './helpers.js';
export * from 'lodash';
export default definePolicy({
  name: 'x',
  selectProvider({ candidates }) {
    const m = require('child_process');
    const p = import('os');
    return { order: [] };
  },
});
`;
  const r = await compilePolicyInline(src, 'evil.ts');
  t.same(diagnostics(r), [
    "evil.ts:2:1 only 'switchyard/sdk' may be imported by a policy, not 'node:fs'",
    "evil.ts:3:3 only 'switchyard/sdk' may be imported by a policy, not './helpers.js'",
    "evil.ts:4:1 only 'switchyard/sdk' may be imported by a policy, not 'lodash'",
    'evil.ts:8:15 require() is not allowed in a policy',
    'evil.ts:9:15 dynamic import() is not allowed in a policy',
  ]);
  const plugin = await compilePolicyInline(`import { definePlugin } from 'switchyard/sdk';\nexport default definePlugin;\n`, 'p.ts');
  t.match(diagnostics(plugin), [/^p\.ts:1:10 .*definePlugin/], 'the plugin half of the SDK is not offered to policies');
  const meta = await compilePolicyInline(`export const u = import.meta.url;\nexport default { name: 'x', selectProvider: () => ({ order: [] }) };\n`, 'p.ts');
  t.match(diagnostics(meta), [/^p\.ts:1:18 import\.meta is not allowed/]);
  const node = await compilePolicyInline(
    `import { definePolicy } from 'switchyard/sdk';\nexport default definePolicy({ name: 'x', selectProvider() { process.exit(1); setTimeout(() => 1); return { order: [] }; } });\n`,
    'p.ts',
  );
  t.match(diagnostics(node), [/Cannot find name 'process'/, /Cannot find name 'setTimeout'/], 'no Node globals in the types either');
});

t.test('unused names are fine', opts, async (t) => {
  const src = `import { definePolicy, type Candidate, type PolicyInput } from 'switchyard/sdk';
const unusedConst = 1;
function unusedHelper(c: Candidate, unusedParam: number) { return c.id; }
export default definePolicy({
  name: 'unused',
  selectProvider(input: PolicyInput) {
    const unusedLocal = input.now;
    return { order: input.candidates.map((c) => c.id), maxAttempts: 2, hedgeAfterMs: 100 };
  },
});
`;
  const r = await compilePolicyInline(src, 'unused.ts');
  t.same(diagnostics(r), []);
});

t.test('the default export must be a policy', opts, async (t) => {
  const none = await compilePolicyInline(`export const x = 1;\n`, 'p.ts');
  t.same(diagnostics(none), ["p.ts:1:1 a policy must 'export default definePolicy({ name, selectProvider })'"]);
  const wrong = await compilePolicyInline(`const x = 1;\nexport default { selectProvider() { return 1; } };\n`, 'p.ts');
  t.match(diagnostics(wrong), [/^p\.ts:2:1 the default export is not a PolicyDefinition/]);
  const bare = await compilePolicyInline(
    `import type { PolicyDefinition } from 'switchyard/sdk';\nconst p: PolicyDefinition = { name: 'bare', selectProvider: (i) => ({ order: [i.candidates[0]!.id] }) };\nexport default p;\n`,
    'p.ts',
  );
  t.same(diagnostics(bare), [], 'a typed object without definePolicy is fine');
  t.equal(bare.ok && bare.name, null, 'name not statically known');
  const syntax = await compilePolicyInline(`export default {\n`, 'p.ts');
  t.match(diagnostics(syntax), [/^p\.ts:2:1 /]);
});

t.test('the worker compiles off the event loop', opts, async (t) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = performance.now();
  const [a, b] = await Promise.all([compilePolicy(EXAMPLE, 'a.ts'), compilePolicy('export default 1;\n', 'b.ts')]);
  const ms = performance.now() - started;
  clearInterval(timer);
  t.equal(a.ok && a.name, 'cheapest-healthy');
  t.match(diagnostics(b), [/^b\.ts:1:1 the default export is not a PolicyDefinition/]);
  t.ok(ticks >= Math.min(10, (ms / 5) * 0.2), `event loop kept ticking during ${Math.round(ms)} ms of compiling (${ticks} ticks)`);
  const inline = await compilePolicyInline(EXAMPLE, 'a.ts');
  t.same(a, inline, 'worker and inline agree');
  await closeCompiler();
  const c = await compilePolicy(EXAMPLE, 'c.ts');
  t.equal(c.ok, true, 'a closed compiler starts a new worker on demand');
});
