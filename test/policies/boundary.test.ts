/**
 * The compact boundary (policies/sandbox/encode.ts): the policy must see exactly what the whole-
 * JSON boundary gives it, every call gets fresh objects, and nothing the policy does to its own
 * globals or prototypes changes how the input is rebuilt. Each check runs the same policy in two
 * sandboxes, one with the compact boundary (the default) and one with `compactBoundary: false`,
 * and calls both several times per input: the first sighting of a candidate set goes as JSON,
 * the second installs its builder, the rest are compact.
 */
import t from 'tap';
import { newBoundary } from '../../policies/sandbox/boundary.js';
import { loadModule } from '../../policies/sandbox/modules.js';
import { CHANNEL_SLOTS, CompactEncoder, MAX_BUILDER_CHARS, MAX_INSTALLED_CHARS, MAX_SETS } from '../../policies/sandbox/encode.js';
import { PolicySandbox, type SandboxResult } from '../../policies/sandbox/sandbox.js';
import type { Candidate, PolicyDecision, PolicyInput } from '../../sdk/types.js';
import { candidate, ids, input, script } from './fixtures/policies.js';

const opts = { timeout: 60_000 };

/** Sandbox code: a description of a value that tells apart everything a policy could observe. */
const DESCRIBE = `
function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return typeof v + ':' + String(v);
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    const own = Object.getOwnPropertyNames(v).filter((k) => k !== 'length' && !/^[0-9]+$/.test(k));
    return (proto === Array.prototype ? '' : '~') + '[' + Array.prototype.map.call(v, describe).join(',') + ']' + (own.length ? own.join() : '');
  }
  const keys = Object.getOwnPropertyNames(v).map((k) => {
    const d = Object.getOwnPropertyDescriptor(v, k);
    const flags = (d.enumerable ? '' : '-e') + (d.writable ? '' : '-w') + (d.configurable ? '' : '-c') + ('get' in d ? '-acc' : '');
    return JSON.stringify(k) + flags + ':' + describe(d.value);
  });
  return (proto === Object.prototype ? '' : '~') + (Object.isExtensible(v) ? '' : '#') + '{' + keys.join(',') + '}';
}
function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return (h >>> 0).toString(16) + '/' + s.length;
}
`;

/** Echoes a fingerprint of its whole input, plus `extra` (an expression) in the reason. */
const echo = (body = '', prefix = '', extra = "''") =>
  script(
    `{
  name: 'echo',
  selectProvider(input) {
    const first = input.candidates[0].id;
    const seen = hash(describe(input)) + ' ' + (${extra});
    ${body}
    return { order: [first], reason: seen };
  },
}`,
    DESCRIBE + prefix,
  );

type Sub = Parameters<Parameters<typeof t.test>[0]>[0];

async function pair(t: Sub, js: string) {
  // describe() is slow in QuickJS, and the machine may be busy: deadlines are not under test here.
  const compact = await PolicySandbox.create(js, { callDeadlineMs: 2000 });
  const json = await PolicySandbox.create(js, { callDeadlineMs: 2000, compactBoundary: false });
  t.teardown(() => (compact.dispose(), json.dispose()));
  return { compact, json };
}

const strip = (r: SandboxResult<PolicyDecision>) => (r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error, message: r.message });

/** Calls both sandboxes `n` times with the same input (made afresh per call) and checks they agree each time. */
function agree(t: Sub, p: { compact: PolicySandbox; json: PolicySandbox }, make: () => PolicyInput, what: string, n = 4): void {
  for (let i = 0; i < n; i++) {
    const x = make();
    const a = strip(p.compact.selectProvider(x));
    const b = strip(p.json.selectProvider(x));
    if (!a.ok || JSON.stringify(a) !== JSON.stringify(b)) {
      t.same(a, b, `${what} (call ${i + 1})`);
      if (!a.ok) t.fail(`${what}: ${a.error}: ${a.message}`);
      return;
    }
  }
  t.pass(what);
}

const withCandidates = (cs: Candidate[], over: Partial<PolicyInput> = {}) => input({ candidates: cs, ...over });
const cands = () => [0, 1, 2, 3].map((i) => candidate(i));

t.test('the policy sees the same input through both boundaries', opts, async (t) => {
  const p = await pair(t, echo());
  const weird = ['a"b\\c', 'line\u2028sep\u2029', '`${x}`</script>', 'é 🦊', '\ud800lone', '', '__proto__'];
  const cases: [string, () => PolicyInput][] = [
    ['the fixture input', () => input()],
    ['metadata', () => input({}, { tier: 'premium', 'x-y': 'z', __proto__x: 'p' })],
    ['a conversation id', () => ({ ...input(), request: { ...input().request, conversationId: 'conv-42' } })],
    ['a null conversation id', () => ({ ...input(), request: { ...input().request, conversationId: null as unknown as string } })],
    ['an undefined conversation id (JSON drops it)', () => ({ ...input(), request: { ...input().request, conversationId: undefined } })],
    ['a key id, token counts, stream', () => ({ ...input(), request: { ...input().request, keyId: 'team-a', maxOutputTokens: 512, estimatedInputTokens: 0, stream: true } })],
    ['unusual numbers', () => ({ ...input(), request: { ...input().request, maxOutputTokens: Infinity, estimatedInputTokens: 1e21 }, now: -0, random: 0.9999999999999999 })],
    ['null and -0 and NaN candidate numbers', () => withCandidates([candidate(0, { latencyMs: null }), candidate(1, { healthScore: -0, latencyMs: -0 }), candidate(2, { latencyMs: NaN }), candidate(3, { latencyMs: -Infinity, healthScore: 0.1 + 0.2 })])],
    ['booleans', () => withCandidates([candidate(0, { healthy: false }), candidate(1, { coolingDown: true }), candidate(2, { healthy: false, coolingDown: true }), candidate(3)])],
    ['prices with cached_input, present-but-undefined, and big', () => withCandidates([candidate(0, { price: { input: 1, output: 2, cached_input: 0.5 } }), candidate(1, { price: { input: 1, output: 2, cached_input: undefined } }), candidate(2, { price: { input: 1e300, output: -0 } }), candidate(3)])],
    ['context windows, weights, capabilities', () => withCandidates([candidate(0, { contextWindow: null, capabilities: [] }), candidate(1, { weight: 0.25, capabilities: ['a', 'b', 'c', 'd', 'e'] }), candidate(2, { capabilities: weird }), candidate(3)])],
    ['odd strings in ids, providers and models', () => withCandidates(weird.map((s, i) => candidate(i % 4, { id: `${s}#${i}`, provider: s, model: s })))],
    ['odd strings in the request', () => ({ ...input({}, { [weird[0]!]: weird[1]!, k: weird[4]! }), request: { ...input().request, model: weird[2]!, keyId: weird[3]!, entry: weird[6]!, conversationId: weird[5] } })],
    ['one candidate', () => withCandidates([candidate(2)])],
    ['twenty candidates', () => withCandidates(Array.from({ length: 20 }, (_, i) => candidate(i % 4, { id: `r#${i}` })))],
    // Shapes the compact path does not take: still exactly what JSON gives.
    ['an extra candidate field', () => withCandidates([{ ...candidate(0), region: 'eu' } as Candidate, candidate(1)])],
    ['candidate keys in another order', () => withCandidates([(({ healthy, ...rest }) => ({ healthy, ...rest }))(candidate(0)), candidate(1)])],
    ['an extra request field', () => ({ ...input(), request: { ...input().request, tenant: 't' } as PolicyInput['request'] })],
    ['a non-boolean healthy', () => withCandidates([candidate(0, { healthy: 1 as unknown as boolean }), candidate(1)])],
    ['a string healthScore', () => withCandidates([candidate(0, { healthScore: '1' as unknown as number }), candidate(1)])],
    ['a NaN healthScore', () => withCandidates([candidate(0, { healthScore: NaN }), candidate(1)])],
    ['a null metadata', () => ({ ...input(), request: { ...input().request, metadata: null as unknown as Record<string, string> } })],
    ['an extra input field', () => ({ ...input(), extra: 1 }) as PolicyInput],
  ];
  for (const [what, make] of cases) agree(t, p, make, what);
  const stats = p.compact.boundaryStats();
  t.ok(stats.compact > 40 && stats.installs >= 5, `the compact path was taken (${JSON.stringify(stats)})`);
  t.equal(p.json.boundaryStats().compact, 0, 'compactBoundary: false sends JSON only');
});

t.test('every call gets fresh objects: what a policy does to its input stays in that call', opts, async (t) => {
  const p = await pair(
    t,
    echo(
      `
      const c = input.candidates[0];
      c.healthy = 'x'; c.price.input = 999; c.capabilities.push('hacked'); delete c.model; c.extra = 1;
      Object.defineProperty(input.candidates[1], 'id', { get() { return 'evil'; } });
      Object.freeze(input.candidates[2]); Object.freeze(input.candidates[3].price);
      input.request.metadata.injected = 'y'; input.request.model = 'changed'; input.candidates.push({}); input.now = 0;
      globalThis.prev = input;`,
      'globalThis.prev = null;',
      `prev === null ? 'first' : [prev === input, prev.candidates[0] === input.candidates[0], prev.candidates[0].price === input.candidates[0].price,
        prev.candidates[0].capabilities === input.candidates[0].capabilities, prev.request === input.request,
        prev.request.metadata === input.request.metadata].join()`,
    ),
  );
  agree(t, p, () => input({}, { team: 'a' }), 'mutations are not seen by the next call', 8);
  agree(t, p, () => ({ ...input(), request: { ...input().request, conversationId: 'c' } }), 'with a conversation id too', 6);
  const r = p.compact.selectProvider(input({}, { team: 'a' }));
  t.match(r, { ok: true, value: { reason: / false,false,false,false,false,false$/ } }, 'no object is shared with the previous call');
  t.ok(p.compact.boundaryStats().compact >= 8);
});

t.test('what a policy does to its globals and prototypes does not change how inputs are built', opts, async (t) => {
  // The traps record every [[Set]] that reaches them and then behave like a plain data property
  // (QuickJS's own JSON.stringify sets array indices internally, so throwing ones would break the
  // policy's own output). JSON.parse defines properties and never reaches them; the builders
  // must not either: the hit counts must agree.
  const p = await pair(
    t,
    echo(
      `
      if (!globalThis.done) {
        globalThis.done = true;
        globalThis.hits = 0;
        const trap = (name) => ({
          get() { return 'poisoned ' + name; },
          set(v) { globalThis.hits++; Object.defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true }); },
          configurable: true,
        });
        for (const k of ['id', 'healthy', 'price', 'input', 'model', 'metadata', 'request', 'candidates', 'now']) Object.defineProperty(Object.prototype, k, trap(k));
        for (const k of ['0', '1', '2', '3', '4']) Object.defineProperty(Array.prototype, k, trap(k));
        JSON.parse = () => ({ order: [] });
        globalThis.eval = () => () => ({});
        globalThis.Float64Array = function () { return [9, 9, 9]; };
        Object.create = () => ({ hijacked: true });
        Reflect.apply = () => ({ order: ['r#9:evil/model'] });
      }`,
      '',
      "'hits ' + globalThis.hits",
    ),
  );
  // Two sets, so the second is installed after the pollution.
  agree(t, p, () => input({}, { a: 'b' }), 'before and after polluting', 5);
  agree(t, p, () => withCandidates([candidate(3), candidate(1)], {}), 'a set installed after polluting', 5);
  t.ok(p.compact.boundaryStats().compact >= 4);
});

t.test('candidate sets: config changes, many sets, many strings', opts, async (t) => {
  const p = await pair(t, echo());
  let price = 1;
  agree(t, p, () => withCandidates(cands()), 'a set');
  agree(t, p, () => withCandidates([candidate(0, { price: { input: ++price, output: 1 } }), ...cands().slice(1)]), 'same ids, a price changing every call', 6);
  agree(t, p, () => withCandidates([candidate(0, { capabilities: ['chat', `v${++price}`] }), ...cands().slice(1)]), 'same ids, capabilities changing every call', 6);
  const shared = cands();
  agree(t, p, () => withCandidates(shared), 'the same objects, mutated by the host between calls (before)');
  shared[1]!.price.output = 77;
  shared[2]!.capabilities.push('late');
  agree(t, p, () => withCandidates(shared), 'the same objects, mutated by the host between calls (after)');
  // More sets than are kept installed, round robin: evictions, re-installs (rationed).
  for (let round = 0; round < 3; round++) {
    for (let s = 0; s < 80; s++) {
      const r1 = p.compact.selectProvider(withCandidates(cands().map((c) => ({ ...c, id: `${c.id}~${s}` }))));
      const r2 = p.json.selectProvider(withCandidates(cands().map((c) => ({ ...c, id: `${c.id}~${s}` }))));
      if (JSON.stringify(strip(r1)) !== JSON.stringify(strip(r2))) t.same(strip(r1), strip(r2), `set ${s}, round ${round}`);
    }
  }
  t.pass('80 sets, round robin');
  // Big sets: builders over MAX_BUILDER_CHARS and over 64 candidates go as JSON.
  const big = (s: number, n: number, idChars: number) =>
    withCandidates(Array.from({ length: n }, (_, i) => candidate(i % 4, { id: `${'x'.repeat(idChars)}#${s}.${i}`, capabilities: ['c'.repeat(50)] })));
  for (let round = 0; round < 2; round++) for (let s = 0; s < 6; s++) agree(t, p, () => big(s, 14, 600), `a big set (${s}, round ${round})`, 2);
  agree(t, p, () => big(98, 64, 10), '64 candidates');
  agree(t, p, () => big(99, 65, 10), '65 candidates');
  // More distinct request strings than the string table holds.
  for (let i = 0; i < 1100; i++) {
    const make = () => ({ ...input(), request: { ...input().request, keyId: `key-${i}`, model: `m${i % 7}` } });
    const r1 = p.compact.selectProvider(make());
    const r2 = p.json.selectProvider(make());
    if (JSON.stringify(strip(r1)) !== JSON.stringify(strip(r2))) {
      t.same(strip(r1), strip(r2), `key ${i}`);
      break;
    }
  }
  t.pass('1100 key ids');
  const stats = p.compact.boundaryStats();
  t.ok(stats.compact > 1000, `compact calls: ${JSON.stringify(stats)}`);
});

t.test('failures on the compact path are contained like on the JSON path', opts, async (t) => {
  const evil = script(`{
    name: 'evil',
    selectProvider(input) {
      const e = input.request.metadata.evil;
      if (e === 'loop') for (;;) {}
      if (e === 'bomb') { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }
      if (e === 'throw') throw new TypeError('boom');
      if (e === 'junk') return { order: ['r#9:evil/model'] };
      return { order: input.candidates.map((c) => c.id) };
    },
  }`);
  const sb = await PolicySandbox.create(evil, { callDeadlineMs: 2000 });
  t.teardown(() => sb.dispose());
  const warm = () => {
    for (let i = 0; i < 3; i++) t.same(sb.selectProvider(input()).ok, true);
  };
  warm();
  const before = sb.boundaryStats().compact;
  t.match(sb.selectProvider(input({}, { evil: 'throw' })), { ok: false, error: 'throw', message: 'TypeError: boom' });
  t.match(sb.selectProvider(input({}, { evil: 'junk' })), { ok: false, error: 'invalid_output', message: /unknown candidate/ });
  t.ok(sb.boundaryStats().compact >= before + 2, 'those went the compact way');
  t.same(sb.selectProvider(input()).ok, true);
  t.match(sb.selectProvider(input({}, { evil: 'bomb' })), { ok: false, error: 'oom' });
  await sb.ready();
  warm();
  const quick = await PolicySandbox.create(evil, { callDeadlineMs: 20 });
  t.teardown(() => quick.dispose());
  for (let i = 0; i < 3; i++) quick.selectProvider(input());
  t.match(quick.selectProvider(input({}, { evil: 'loop' })), { ok: false, error: 'timeout' });
  const after = quick.selectProvider(input());
  t.same(after.ok && after.value.order, ids, 'serves after the timeout (rebuilt context, fresh sets)');
});

t.test('the encoder keeps installed builders within their count and size budgets', async (t) => {
  const F = new Float64Array(CHANNEL_SLOTS);
  const enc = new CompactEncoder({ view: () => F });
  const state = enc as unknown as { sets: Map<string, { slot: number; chars: number }>; installedChars: number; free: number[] };
  const big = (s: number) => withCandidates(Array.from({ length: 12 }, (_, i) => candidate(i % 4, { id: `${'x'.repeat(1000)}#${s}.${i}` })));
  let installs = 0;
  let evictedByBytes = false;
  for (let s = 0; s < 100; s++) {
    t.equal(enc.encode(big(s)), null, 'first sighting: JSON');
    const before = state.sets.size;
    const out = enc.encode(big(s));
    if (out === null) continue; // out of install credit
    const pending = JSON.parse(enc.pendingInstall!) as [number, string, number[]];
    t.ok(pending[1].length <= MAX_BUILDER_CHARS);
    enc.installed();
    installs++;
    if (state.sets.size <= before) evictedByBytes ||= before < MAX_SETS;
    const slots = [...state.sets.values()].map((x) => x.slot);
    if (new Set(slots).size !== slots.length || state.installedChars > MAX_INSTALLED_CHARS || state.sets.size > MAX_SETS) {
      t.fail(`budgets broken after set ${s}: ${state.sets.size} sets, ${state.installedChars} chars, slots ${slots}`);
      break;
    }
    t.equal(state.installedChars, [...state.sets.values()].reduce((a, x) => a + x.chars, 0));
    t.equal(state.free.length + state.sets.size, MAX_SETS, 'no slot lost');
  }
  t.ok(installs > 16, `installs: ${installs}`);
  t.ok(evictedByBytes, 'evicted for size, with slots to spare');
});

t.test('the raw boundary passes strings like the public API', async (t) => {
  const loaded = await loadModule(8 << 20);
  const runtime = loaded.module.newRuntime();
  const context = runtime.newContext();
  const fn = context.evalCode('(function (s) { if (s === "throw") throw new Error("x"); return s + "|" + s.length; })').unwrap();
  const attach = context.evalCode('(function (ab) { globalThis.F = new Float64Array(ab); return "" + F[0]; })').unwrap();
  const raw = newBoundary(context, loaded.memory);
  const pub = newBoundary(context, loaded.memory, { raw: false });
  t.not(raw.constructor, pub.constructor, 'this build supports the raw path');
  // Well-formed strings only: what crosses is always JSON.stringify output, which escapes lone surrogates.
  const strings = ['', 'a', '{"x":[1,2]}', 'é 🦊 \u2028 \\ud83e', 'x'.repeat(5000), '🦊'.repeat(3000), 'y'.repeat(100)];
  // (Names escaped: a raw U+2028 would break the TAP stream.)
  for (const s of strings) t.equal(raw.call(fn, s), pub.call(fn, s), `${JSON.stringify(s.slice(0, 12)).replace(/[^\x20-\x7e]/g, '?')} (${s.length} chars)`);
  t.equal(raw.call(fn, 'throw'), null, 'an uncaught error is null');
  t.equal(pub.call(fn, 'throw'), null);
  t.equal(pub.openChannel(attach, 8), null, 'no channel without the raw path');
  const channel = raw.openChannel(attach, 8);
  t.ok(channel, 'a channel');
  channel!.view()[0] = 42.5;
  t.equal(context.getNumber(context.evalCode('F[0]').unwrap()), 42.5, 'writes are seen inside');
  // Grow the memory: the view follows.
  context.evalCode('globalThis.keep = new Uint8Array(4 << 20); 0').unwrap().dispose();
  channel!.view()[1] = 7;
  const h = context.evalCode('F[1]').unwrap();
  t.equal(context.getNumber(h), 7, 'after the memory grew');
  h.dispose();
  for (const s of strings) t.equal(raw.call(fn, s), pub.call(fn, s), `after growth: ${s.length}`);
  fn.dispose();
  attach.dispose();
  raw.dispose();
  pub.dispose();
  context.evalCode('delete globalThis.F; delete globalThis.keep').unwrap().dispose();
  context.dispose();
  runtime.dispose();
});
