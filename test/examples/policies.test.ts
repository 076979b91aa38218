import t from 'tap';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { compilePolicyInline } from '../../policies/compile/compile.js';
import { PolicySandbox } from '../../policies/sandbox/sandbox.js';
import type { Candidate, PolicyInput } from '../../sdk/types.js';
import { startFakeUpstream, ok, stream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

async function load(name: string) {
  const file = `examples/policies/${name}.ts`;
  const r = await compilePolicyInline(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return PolicySandbox.create(r.js);
}

const cand = (id: string, o: Partial<Candidate> = {}): Candidate => ({
  id, provider: id, model: `${id}-model`, healthy: true, coolingDown: false, healthScore: 1, latencyMs: null,
  price: { input: 1, output: 1 }, contextWindow: null, weight: 1, capabilities: [], ...o,
});
const input = (candidates: Candidate[], request: Partial<PolicyInput['request']> = {}): PolicyInput => ({
  request: { model: 'm', metadata: {}, keyId: null, estimatedInputTokens: 100, maxOutputTokens: 100, stream: false, entry: 'openai.chat', ...request },
  candidates, now: 1_700_000_000_000, random: 0.5,
});
function order(sb: PolicySandbox, i: PolicyInput): string[] {
  const r = sb.selectProvider(i);
  if (!r.ok) throw new Error(r.message);
  return r.value.order;
}

t.test('cheapest-healthy', async (t) => {
  const sb = await load('cheapest-healthy');
  t.teardown(() => sb.dispose());
  const cs = [cand('pricey', { price: { input: 3, output: 15 } }), cand('cheap', { price: { input: 0.1, output: 0.4 } }), cand('cheapest-sick', { price: { input: 0.01, output: 0.01 }, healthy: false })];
  t.same(order(sb, input(cs)), ['cheap', 'pricey', 'cheapest-sick']);
  cs[1].coolingDown = true;
  t.same(order(sb, input(cs)), ['pricey', 'cheapest-sick', 'cheap']);
});

t.test('latency-aware with a quality floor', async (t) => {
  const sb = await load('latency-aware');
  t.teardown(() => sb.dispose());
  const cs = [cand('slow', { latencyMs: 900 }), cand('fast-but-poor', { latencyMs: 50, healthScore: 0.5 }), cand('fast', { latencyMs: 120 }), cand('unknown')];
  t.same(order(sb, input(cs)), ['fast', 'slow', 'unknown', 'fast-but-poor']);
});

t.test('tenant-tier', async (t) => {
  const sb = await load('tenant-tier');
  t.teardown(() => sb.dispose());
  const cs = [cand('mid', { price: { input: 0.5, output: 2 } }), cand('best', { price: { input: 3, output: 15 } }), cand('budget', { price: { input: 0.1, output: 0.4 } })];
  const premium = sb.selectProvider(input(cs, { metadata: { tier: 'premium' } }));
  t.ok(premium.ok && premium.value.order[0] === 'best' && premium.value.maxAttempts === 3);
  t.same(order(sb, input(cs, { metadata: { tier: 'free' } })), ['mid', 'budget']);
  t.same(order(sb, input(cs)), ['mid', 'best', 'budget']);
});

t.test('conversation-pinning keeps a conversation on one target', async (t) => {
  const sb = await load('conversation-pinning');
  t.teardown(() => sb.dispose());
  const cs = [cand('a'), cand('b'), cand('c')];
  const firsts = new Set<string>();
  for (let i = 0; i < 5; i++) firsts.add(order(sb, input(cs, { conversationId: 'conv-42' }))[0]);
  t.equal(firsts.size, 1, 'same conversation, same target');
  const spread = new Set(['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8'].map((c) => order(sb, input(cs, { conversationId: c }))[0]));
  t.ok(spread.size > 1, 'different conversations spread out');
});

t.test('hedging: a slow first target is raced by the second; the first to answer wins', async (t) => {
  const sb = await load('hedging');
  const r = sb.selectProvider(input([cand('a'), cand('b')]));
  t.ok(r.ok && r.value.hedgeAfterMs === 250);
  sb.dispose();

  const slow = await startFakeUpstream(async (s, res) => {
    await Promise.race([new Promise((r2) => setTimeout(r2, 2000)), s.closed]);
    if (!res.destroyed) ok('slow')(s, res, undefined as never);
  });
  const fast = await startFakeUpstream(ok('fast'));
  const dir = mkdtempSync(join(tmpdir(), 'sy-hedge-'));
  const gw = await startGateway({
    providers: [{ id: 'slow', kind: 'openai', base_url: slow.url }, { id: 'fast', kind: 'openai', base_url: fast.url }],
    routes: [{ model: 'm', targets: [{ provider: 'slow', model: 'x' }, { provider: 'fast', model: 'y' }] }],
    admin: { token: 'admin-token-0123456789abcdef' },
  }, { dataDir: dir });
  t.teardown(async () => { await gw.close(); await slow.close(); await fast.close(); });
  const pub = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: { authorization: 'Bearer admin-token-0123456789abcdef', 'content-type': 'application/json' }, body: JSON.stringify({ source: readFileSync('examples/policies/hedging.ts', 'utf8') }) });
  t.equal(pub.status, 200);
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [] }).withResponse();
  t.equal(data.choices[0].message.content, 'fast', 'the hedge answered: the slow target never did');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'hedged');
  t.equal(response.headers.get('x-switchyard-attempts'), '2', 'both attempts recorded');
  await slow.seen[0].closed;
  t.pass('the losing attempt was cancelled');

  // Streams hedge on first content too.
  fast.fallback = stream(['quick']);
  const s = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
  t.equal(text, 'quick');
});
