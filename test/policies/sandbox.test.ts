import t from 'tap';
import { PolicyLoadError, PolicySandbox } from '../../policies/sandbox/sandbox.js';
import { CHEAPEST, candidate, errorInput, ids, input, script } from './fixtures/policies.js';

const opts = { timeout: 20_000 };

/**
 * A t.rejects pattern matching a PolicyLoadError's kind. tap's ErrorMatch type wants a message,
 * name or code key, but at runtime tap matches any object pattern (as t.match does), so the
 * cast only widens the type; the kind itself is checked against PolicyLoadError['kind'].
 */
const loadError = (kind: PolicyLoadError['kind']) => ({ kind }) as Partial<PolicyLoadError> as Error;

t.test('cheapest healthy: decisions follow the input', opts, async (t) => {
  const sb = await PolicySandbox.create(CHEAPEST);
  t.teardown(() => sb.dispose());
  t.equal(sb.name, 'cheapest-healthy');
  t.equal(sb.hasOnError, false);

  const r = sb.selectProvider(input());
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.value, { order: [ids[2], ids[0], ids[3], ids[1]], reason: 'cheapest healthy' });
    t.type(r.us, 'number');
  }
  const down = input({ candidates: [candidate(0), candidate(1), candidate(2, { healthy: false }), candidate(3, { coolingDown: true })] });
  const r2 = sb.selectProvider(down);
  t.same(r2.ok && r2.value.order, [ids[0], ids[1]]);
  t.equal(sb.onError(errorInput()), null, 'no onError: core defaults apply');
});

t.test('optional decision fields are checked and normalised', opts, async (t) => {
  const sb = await PolicySandbox.create(
    script(`{
      name: 'fields',
      selectProvider(input) {
        const m = input.request.metadata;
        const out = { order: [input.candidates[0].id], extra: 'dropped' };
        if (m.reason) out.reason = m.reason === 'long' ? 'x'.repeat(500) : m.reason;
        if (m.max) out.maxAttempts = JSON.parse(m.max);
        if (m.hedge) out.hedgeAfterMs = JSON.parse(m.hedge);
        return out;
      },
    }`),
  );
  t.teardown(() => sb.dispose());
  const call = (meta: Record<string, string>) => sb.selectProvider(input({}, meta));

  const ok = call({ reason: 'r', max: '3', hedge: '250' });
  t.same(ok.ok && ok.value, { order: [ids[0]], reason: 'r', maxAttempts: 3, hedgeAfterMs: 250 }, 'unknown fields dropped');
  const long = call({ reason: 'long' });
  t.equal(long.ok && long.value.reason!.length, 200, 'reason truncated to 200 chars');
  t.equal(call({ hedge: '0' }).ok, true, 'hedgeAfterMs 0 is fine');

  for (const [meta, why] of [
    [{ max: '0' }, 'maxAttempts 0'],
    [{ max: '1.5' }, 'maxAttempts not an integer'],
    [{ max: '"2"' }, 'maxAttempts a string'],
    [{ hedge: '-1' }, 'negative hedge'],
    [{ hedge: 'null' }, 'null hedge'],
  ] as const) {
    const r = call(meta);
    t.equal(!r.ok && r.error, 'invalid_output', why);
  }
});

t.test('onError', opts, async (t) => {
  const sb = await PolicySandbox.create(
    script(`{
      name: 'on-error',
      selectProvider(input) { return { order: input.candidates.map((c) => c.id) }; },
      onError(input) {
        if (input.failure.class === 'quota') return { action: 'explode' };
        return { action: input.remaining.length ? 'fallback' : 'fail' };
      },
    }`),
  );
  t.teardown(() => sb.dispose());
  t.equal(sb.hasOnError, true);
  const r = sb.onError(errorInput());
  t.same(r && r.ok && r.value, { action: 'fallback' });
  const last = sb.onError(errorInput({ remaining: [] }));
  t.same(last && last.ok && last.value, { action: 'fail' });
  const junk = sb.onError(errorInput({ failure: { class: 'quota', status: 402, message: '', retryAfterMs: null } }));
  t.equal(junk && !junk.ok && junk.error, 'invalid_output');
});

t.test('Date and Math.random come from the input', opts, async (t) => {
  const CLOCK = script(`{
    name: 'clock',
    selectProvider(input) {
      const D = (new Date(0)).constructor;
      const parts = [Date.now(), new Date().getTime(), new D().getTime(), Date(), Math.random(), Math.random()];
      return { order: [input.candidates[0].id], reason: JSON.stringify(parts) };
    },
  }`);
  const a = await PolicySandbox.create(CLOCK);
  const b = await PolicySandbox.create(CLOCK);
  t.teardown(() => (a.dispose(), b.dispose()));
  const reason = (sb: PolicySandbox, over = {}) => {
    const r = sb.selectProvider(input(over));
    if (!r.ok) throw new Error(r.message);
    return JSON.parse(r.value.reason!) as [number, number, number, string, number, number];
  };
  const first = reason(a);
  t.equal(first[0], 1_700_000_000_000, 'Date.now() is input.now');
  t.equal(first[1], 1_700_000_000_000, 'new Date() is input.now');
  t.equal(first[2], 1_700_000_000_000, 'Date.prototype.constructor does not reach the real clock');
  t.match(first[3], /Nov 1[45] 2023/, 'Date() prints input.now');
  t.ok(first[4] >= 0 && first[4] < 1 && first[4] !== first[5], 'Math.random is a stream in [0,1)');
  t.same(reason(a), first, 'same input, same decision (warm context)');
  t.same(reason(b), first, 'same input, same decision (another sandbox: replay)');
  const other = reason(a, { random: 0.75, now: 5 });
  t.equal(other[0], 5);
  t.not(other[4], first[4], 'another seed, another stream');
});

t.test('a throwing policy is reported and the sandbox keeps serving', opts, async (t) => {
  const sb = await PolicySandbox.create(
    script(`{
      name: 'thrower',
      selectProvider(input) {
        if (input.request.metadata.throw === 'error') throw new TypeError('boom');
        if (input.request.metadata.throw === 'value') throw { toString() { throw 1; } };
        return { order: [input.candidates[0].id] };
      },
    }`),
  );
  t.teardown(() => sb.dispose());
  const r = sb.selectProvider(input({}, { throw: 'error' }));
  t.match(r, { ok: false, error: 'throw', message: 'TypeError: boom' });
  const v = sb.selectProvider(input({}, { throw: 'value' }));
  t.match(v, { ok: false, error: 'throw' });
  t.equal(sb.selectProvider(input()).ok, true);
});

t.test('scripts that cannot load', opts, async (t) => {
  await t.rejects(PolicySandbox.create('throw new Error("top")'), PolicyLoadError);
  await t.rejects(PolicySandbox.create(script('{ name: "x" }')), /definePolicy/);
  await t.rejects(PolicySandbox.create('syntax error here'), loadError('throw'));
  await t.rejects(PolicySandbox.create('for (;;) {}'), loadError('timeout'));
  await t.rejects(PolicySandbox.create('throw { toString() { for (;;) {} } };'), loadError('timeout'), 'describing the error is under the deadline too');
  await t.rejects(PolicySandbox.create(script('{ get selectProvider() { throw new Error("getter"); } }')), { kind: 'throw', message: /getter/ });
  await t.rejects(PolicySandbox.create('const a = []; for (;;) a.push("x".repeat(65536) + a.length);'), loadError('oom'));
  const sb = await PolicySandbox.create(CHEAPEST);
  t.equal(sb.selectProvider(input()).ok, true, 'a good script still loads afterwards');
  sb.dispose();
  t.throws(() => sb.selectProvider(input()), /dispose/);
});
