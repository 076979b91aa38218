/**
 * Hostile policies: each must be contained (an error result, never a hang or a host crash) and
 * the sandbox must keep serving afterwards.
 */
import t from 'tap';
import { spareReady } from '../../policies/sandbox/modules.js';
import { PolicySandbox, type SandboxOptions } from '../../policies/sandbox/sandbox.js';
import { CHEAPEST, ids, input, script } from './fixtures/policies.js';

const opts = { timeout: 30_000 };

/** A policy that misbehaves when metadata.evil is set and is cheapest-healthy otherwise. */
const evil = (code: string, prefix = '') =>
  script(
    `{
  name: 'evil',
  selectProvider(input) {
    if (input.request.metadata.evil) { ${code} }
    return { order: input.candidates.map((c) => c.id) };
  },
}`,
    prefix,
  );

/** The subtest type (tap's last `test` overload is `test(cb)`). */
type Sub = Parameters<Parameters<typeof t.test>[0]>[0];

async function sandbox(t: Sub, js: string, o: SandboxOptions = {}) {
  const sb = await PolicySandbox.create(js, o);
  t.teardown(() => sb.dispose());
  return sb;
}

const bad = (sb: PolicySandbox) => sb.selectProvider(input({}, { evil: '1' }));
const good = (t: Sub, sb: PolicySandbox, msg = 'still serves') => {
  const r = sb.selectProvider(input());
  t.same(r.ok && r.value.order, ids, msg);
};

t.test('infinite loops time out and the next call works', opts, async (t) => {
  for (const [code, what] of [
    ['for (;;) {}', 'plain loop'],
    ['try { for (;;) {} } catch (e) { return { order: [input.candidates[0].id] }; }', 'catch cannot swallow the interrupt'],
    ['try { return { order: [] }; } finally { for (;;) {} }', 'loop in finally'],
    ['return { get order() { for (;;) {} } };', 'loop in a getter read by JSON.stringify'],
    ['return { toJSON() { while (true) {} } };', 'loop in toJSON'],
    ['const f = () => f; for (;;) f()();', 'calls only'],
  ] as const) {
    const sb = await sandbox(t, evil(code));
    const r = bad(sb);
    t.match(r, { ok: false, error: 'timeout' }, what);
    t.ok(r.us < 1_000_000, `${what}: stopped near the deadline (${r.us} µs)`);
    good(t, sb, `${what}: next call works`);
  }
});

t.test('memory bombs: oom, five times in a row, and the sandbox keeps serving', opts, async (t) => {
  // A generous deadline so the bomb reaches the memory cap rather than the clock.
  const sb = await sandbox(t, evil('const a = []; for (;;) a.push(new Uint8Array(1 << 20));'), { callDeadlineMs: 2000 });
  for (let i = 1; i <= 5; i++) {
    t.match(bad(sb), { ok: false, error: 'oom' }, `bomb ${i}`);
    await sb.ready();
    good(t, sb, `serves after bomb ${i}`);
  }
  const fresh = await sandbox(t, CHEAPEST);
  t.equal(fresh.selectProvider(input()).ok, true, 'a fresh sandbox works after repeated OOMs');
});

t.test('memory bomb kept alive in a global (the state that aborts dispose upstream)', opts, async (t) => {
  const sb = await sandbox(t, evil('for (;;) keep.push("x".repeat(1 << 16) + keep.length);', 'globalThis.keep = [];'), {
    callDeadlineMs: 2000,
  });
  await spareReady(8 << 20);
  t.match(bad(sb), { ok: false, error: 'oom' });
  good(t, sb, 'recovered synchronously on the spare module');
  t.match(bad(sb), { ok: false, error: 'oom' }, 'again');
  await sb.ready();
  good(t, sb);
});

t.test('small allocations hit the cap too, and a bomb under the default deadline is contained', opts, async (t) => {
  const sb = await sandbox(t, evil('const a = []; for (let i = 0; ; i++) a.push({ i, s: [i] });'), { callDeadlineMs: 5000 });
  t.match(bad(sb), { ok: false, error: 'oom' });
  await sb.ready();
  good(t, sb);
  const quick = await sandbox(t, evil('const a = []; for (let i = 0; ; i++) a.push({ i, s: [i] });'));
  const r = bad(quick);
  t.ok(!r.ok && (r.error === 'oom' || r.error === 'timeout'), `default deadline: ${!r.ok && r.error}`);
  await quick.ready();
  good(t, quick);
});

t.test('a policy that hoards memory across calls is recycled before it starves the host side', opts, async (t) => {
  const sb = await sandbox(t, evil('keep.push(new Uint8Array(3 << 20)); return { order: [input.candidates[0].id] };', 'globalThis.keep = [];'), {
    callDeadlineMs: 2000,
  });
  for (let i = 0; i < 8; i++) {
    const r = bad(sb);
    t.ok(r.ok || r.error === 'oom', `hoarding call ${i}: ${r.ok ? 'ok' : r.error}`);
    await sb.ready();
  }
  good(t, sb);
});

t.test('deep recursion', opts, async (t) => {
  const sb = await sandbox(t, evil('const f = (n) => f(n + 1) + 1; return f(0);'));
  t.match(bad(sb), { ok: false, error: 'throw', message: /stack overflow/ });
  good(t, sb);
  // Each caught overflow builds a full backtrace and throws do not count towards QuickJS's
  // interrupt polling, so this one overruns the deadline (about a second here): the 64 KiB
  // stack limit is what keeps it bounded.
  const caught = await sandbox(t, evil('const f = (n) => { try { return f(n + 1); } catch (e) { return f(n + 1); } }; f(0);'));
  const c = bad(caught);
  t.match(c, { ok: false, error: 'timeout' }, 'recursion that catches its own overflow');
  t.ok(c.us < 15_000_000, `bounded (${Math.round(c.us / 1000)} ms)`);
  await caught.ready();
  good(t, caught);
  // JSON.stringify of a deeply nested value recurses in C: V8's stack, under the WASM frames,
  // can overflow first. That is a host exception; the module is replaced.
  const nested = await sandbox(t, evil('let a = []; for (let i = 0; i < 100000; i++) a = [a]; return { order: a };'), { callDeadlineMs: 2000 });
  t.match(bad(nested), { ok: false }, 'deeply nested output');
  await nested.ready();
  good(t, nested);
});

t.test('huge output', opts, async (t) => {
  const sb = await sandbox(t, evil('return { order: [input.candidates[0].id], reason: "x".repeat(1 << 20) };'), { callDeadlineMs: 1000 });
  t.match(bad(sb), { ok: false, error: 'invalid_output', message: /cap/ });
  good(t, sb);
  const many = await sandbox(t, evil('return { order: Array.from({ length: 200000 }, (_, i) => "id" + i) };'), { callDeadlineMs: 1000 });
  const r = bad(many);
  t.ok(!r.ok && (r.error === 'invalid_output' || r.error === 'oom'), `huge order: ${!r.ok && r.error}`);
  await many.ready();
  good(t, many);
});

t.test('junk output', opts, async (t) => {
  for (const [code, message] of [
    ['return { order: "r#0:openai/gpt" };', /array/],
    ['return { order: { 0: input.candidates[0].id } };', /array/],
    ['return { order: ["r#9:evil/model"] };', /unknown candidate/],
    ['return { order: [input.candidates[0].id, input.candidates[0].id] };', /repeats/],
    ['return { order: [] };', /empty/],
    ['return { order: [1, 2] };', /number/],
    ['return { order: [input.candidates[0].id], reason: 42 };', /reason/],
    ['return undefined;', /no JSON value/],
    ['return "order";', /object/],
    ['return null;', /null/],
    ['return [input.candidates[0].id];', /array/],
    ['const o = { order: [] }; o.self = o; return o;', /serialized/],
    ['return { order: [input.candidates[0].id], n: 10n };', /serialized/],
    ['return () => 1;', /no JSON value/],
  ] as const) {
    const sb = await sandbox(t, evil(code));
    t.match(bad(sb), { ok: false, error: 'invalid_output', message }, code);
    good(t, sb);
  }
});

t.test('prototype tricks stay inside the sandbox', opts, async (t) => {
  const sb = await sandbox(
    t,
    evil(`
      Object.prototype.polluted = 'yes';
      Array.prototype.includes = () => true;
      const parse = JSON.parse;
      JSON.parse = () => ({ order: ['r#9:evil/model'] });
      return parse('{"__proto__": {"polluted": "yes"}, "order": ["${ids[1]}"], "constructor": {"prototype": {"x": 1}}}');
    `),
  );
  const r = bad(sb);
  t.ok(r.ok, 'a parse-then-return still validates');
  if (r.ok) {
    t.same(Object.keys(r.value), ['order'], 'only known fields cross');
    t.equal(Object.getPrototypeOf(r.value), Object.prototype);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'host Object.prototype untouched');
  t.equal(Array.prototype.includes.call([1], 2), false, 'host Array.prototype untouched');
  const next = sb.selectProvider(input());
  t.same(next.ok && next.value.order, ids, 'the sandbox own JSON.parse override does not break the boundary');
});

t.test('no host objects are reachable', opts, async (t) => {
  const PROBE = script(`{
    name: 'probe',
    selectProvider(input) {
      const found = [];
      const names = ['process', 'require', 'module', 'exports', 'Buffer', 'setTimeout', 'setImmediate', 'queueMicrotask',
        'console', 'fetch', 'XMLHttpRequest', 'WebAssembly', 'std', 'os', 'print', 'scriptArgs', '__dirname', 'performance',
        'crypto', 'SharedArrayBuffer', 'Atomics', 'importScripts', 'global', 'Deno', 'Bun'];
      const globals = [globalThis, Function('return this')(), ({}).constructor.constructor('return this')(),
        (() => {}).constructor('return this')(), Object.getPrototypeOf(async function () {}).constructor];
      for (const g of globals.slice(0, 4)) {
        for (const n of names) {
          if (n === 'SharedArrayBuffer') continue; // an engine builtin, harmless without workers
          if (g[n] !== undefined) found.push(n);
        }
      }
      for (const expr of ['process', 'require("fs")', 'import("fs")', 'this.constructor.constructor("return process")()']) {
        try { const v = (0, eval)(expr); if (v !== undefined && !(v instanceof Promise)) found.push(expr); } catch (e) {}
      }
      const builtins = Object.getOwnPropertyNames(globalThis).filter((n) => !/^[A-Z]/.test(n) && !['parseInt', 'parseFloat',
        'isNaN', 'isFinite', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape',
        'globalThis', 'eval', 'undefined', 'keep'].includes(n));
      found.push(...builtins);
      return { order: [input.candidates[0].id], reason: found.length ? found.join(',') : 'clean' };
    },
  }`);
  const sb = await sandbox(t, PROBE);
  const r = sb.selectProvider(input());
  t.same(r.ok && r.value.reason, 'clean', r.ok ? 'nothing found' : r.message);
});

t.test('state a policy leaves behind stays in its own sandbox', opts, async (t) => {
  const a = await sandbox(t, evil('globalThis.count = (globalThis.count || 0) + 1; Object.prototype.leak = 1;'));
  const b = await sandbox(t, script(`{ name: 'b', selectProvider(input) { return { order: [input.candidates[0].id], reason: String(({}).leak) + String(globalThis.count) }; } }`));
  bad(a);
  const r = b.selectProvider(input());
  t.equal(r.ok && r.value.reason, 'undefinedundefined');
});
