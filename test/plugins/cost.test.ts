import t from 'tap';
import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { startFakeUpstream, ok, fail, stream } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import { Db } from '../../core/store/db.js';

const ADMIN = 'admin-token-0123456789abcdef';

function pricedRoute(urls: string[], strategy: string, prices: { input: number; output: number }[]) {
  return {
    providers: urls.map((u, i) => ({ id: `p${i + 1}`, kind: 'openai', base_url: u })),
    routes: [{ model: 'm', strategy, targets: urls.map((_u, i) => ({ provider: `p${i + 1}`, model: `model-${i + 1}`, price: prices[i] })) }],
    admin: { token: ADMIN },
  };
}

t.test('strategy cheapest tries the cheapest healthy target first and records real cost', async (t) => {
  const pricey = await startFakeUpstream(ok('pricey'));
  const cheap = await startFakeUpstream(ok('cheap'));
  const gw = await startGateway(pricedRoute([pricey.url, cheap.url], 'cheapest', [{ input: 3, output: 15 }, { input: 0.15, output: 0.6 }]), { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await pricey.close(); await cheap.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(r.data.choices[0].message.content, 'cheap');
  t.equal(pricey.seen.length, 0);
  const log = await (await fetch(`${gw.url}/admin/api/requests`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { data: { cost_usd: number; input_tokens: number }[] };
  // fake usage: 10 input, 5 output at 0.15 / 0.6 per 1M
  t.equal(log.data[0].cost_usd, (10 * 0.15 + 5 * 0.6) / 1e6);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  t.match(metrics, /switchyard_cost_usd_total\{route="m",provider="p2"\} 0\.0000045/);
  t.match(metrics, /switchyard_tokens_total\{route="m",provider="p2",kind="input"\} 10/);
});

t.test('cheap never beats working: an unhealthy cheap target ranks after a healthy one', async (t) => {
  const pricey = await startFakeUpstream(ok('pricey'));
  const cheap = await startFakeUpstream(fail(500));
  const gw = await startGateway({ ...pricedRoute([pricey.url, cheap.url], 'cheapest', [{ input: 3, output: 15 }, { input: 0.1, output: 0.1 }]), plugins: ['health', { name: 'cooldown', config: { consecutive_failures: 100 } }, 'cost'] });
  t.teardown(async () => { await gw.close(); await pricey.close(); await cheap.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'm', messages: [] });
  const before = cheap.seen.length;
  for (let i = 0; i < 3; i++) {
    const r = await client.chat.completions.create({ model: 'm', messages: [] }).withResponse();
    t.equal(r.response.headers.get('x-switchyard-attempts'), '1');
  }
  t.equal(cheap.seen.length, before, 'the failing cheap target is no longer tried first');
});

t.test('x-switchyard-budget-usd skips targets over budget; none fits is a 402 that says budget', async (t) => {
  const pricey = await startFakeUpstream(ok('pricey'));
  const cheap = await startFakeUpstream(ok('cheap'));
  const gw = await startGateway(pricedRoute([pricey.url, cheap.url], 'ordered', [{ input: 30, output: 60 }, { input: 0.15, output: 0.6 }]));
  t.teardown(async () => { await gw.close(); await pricey.close(); await cheap.close(); });
  const post = (budget: string) => fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-switchyard-budget-usd': budget }, body: JSON.stringify({ model: 'm', max_tokens: 1000, messages: [{ role: 'user', content: 'hello there' }] }) });
  // pricey: ~1000 output × 60 / 1M = $0.06; cheap: ~$0.0006
  const r1 = await post('0.01');
  t.equal(r1.status, 200);
  t.match(await r1.json(), { choices: [{ message: { content: 'cheap' } }] });
  t.equal(pricey.seen.length, 0);
  const r2 = await post('0.00001');
  t.equal(r2.status, 402);
  const body = await r2.json() as { error: { message: string; code: string } };
  t.equal(body.error.code, 'SY_ERR_BUDGET_EXCEEDED');
  t.match(body.error.message, /budget/);
  t.equal((await post('lots')).status, 400);
});

t.test('weighted spreads by weight, lowest-latency prefers the faster target', async (t) => {
  const a = await startFakeUpstream(ok('a'));
  const b = await startFakeUpstream(ok('b'));
  const gw = await startGateway({
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', strategy: 'weighted', targets: [{ provider: 'a', model: 'x', weight: 3 }, { provider: 'b', model: 'x', weight: 1 }] }],
  });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  for (let i = 0; i < 80; i++) await client.chat.completions.create({ model: 'm', messages: [] });
  t.ok(a.seen.length > 45 && b.seen.length > 5, `3:1 weights gave ${a.seen.length}:${b.seen.length}`);

  const slow = await startFakeUpstream(async (s, res) => { await new Promise((r) => setTimeout(r, 60)); ok('slow')(s, res, undefined as never); });
  const fast = await startFakeUpstream(ok('fast'));
  const gw2 = await startGateway({
    providers: [{ id: 'slow', kind: 'openai', base_url: slow.url }, { id: 'fast', kind: 'openai', base_url: fast.url }],
    routes: [{ model: 'm', strategy: 'lowest-latency', targets: [{ provider: 'slow', model: 'x' }, { provider: 'fast', model: 'x' }] }],
  });
  t.teardown(async () => { await gw2.close(); await slow.close(); await fast.close(); });
  const c2 = new OpenAI({ baseURL: gw2.baseURL, apiKey: 'unused', maxRetries: 0 });
  await c2.chat.completions.create({ model: 'm', messages: [] }); // slow measured (config order while unknown)
  slow.fallback = fail(503);
  await c2.chat.completions.create({ model: 'm', messages: [] }); // slow fails once → fast measured
  slow.fallback = async (s, res) => { await new Promise((r) => setTimeout(r, 60)); ok('slow')(s, res, undefined as never); };
  const r = await c2.chat.completions.create({ model: 'm', messages: [] });
  t.equal(r.choices[0].message.content, 'fast', 'the measured faster target goes first');
});

t.test('the tokenizer count reaches what reads it: the captured policy input and the usage of a stream without usage', async (t) => {
  const up = await startFakeUpstream(ok('fine'));
  const dir = mkdtempSync(join(tmpdir(), 'sy-cost-tokens-'));
  const gw = await startGateway({ ...routeOver([up.url]), admin: { token: ADMIN } }, { dataDir: dir });
  t.teardown(async () => { await gw.close(); await up.close(); rmSync(dir, { recursive: true, force: true }); });
  const text = 'hello hello hello hello hello hello hello hello hello hello';
  const bpe = countTokens(text);
  t.not(bpe, Math.ceil(text.length / 4), 'the text tells the tokenizer from the rough estimate');
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const json = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: text }] }).withResponse();
  up.queue(stream(['a', 'b'], { usage: false }));
  const s = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: text }] }).withResponse();
  for await (const _ of s.data) void _;
  const log = await (await fetch(`${gw.url}/admin/api/requests?id=${s.response.headers.get('x-request-id')}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { data: { input_tokens: number; usage_estimated: boolean }[] };
  // The tokenizer's count of the prompt (one separator token at most on top), not chars / 4.
  const tokenizerCount = (n: number) => n >= bpe && n <= bpe + 1;
  t.match(log.data[0], { usage_estimated: true });
  t.ok(tokenizerCount(log.data[0].input_tokens), `a stream without usage is billed at the tokenizer count (${log.data[0].input_tokens}, BPE ${bpe})`);
  await gw.close(); // drains: pending captures are written
  const db = await Db.open(dir);
  const row = await db.get<{ input: string }>('SELECT input FROM captures WHERE id = ?', [json.response.headers.get('x-request-id')]);
  await db.close();
  const captured = (JSON.parse(row!.input) as { request: { estimatedInputTokens: number } }).request.estimatedInputTokens;
  t.ok(tokenizerCount(captured), `the capture (what a policy sees) holds the tokenizer count (${captured})`);
});
