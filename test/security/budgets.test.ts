import t from 'tap';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { budgetKey, periodOf } from '../../core/access/budgets.js';
import { chat, ensureAnthropicEntry, post, until, type Teardown } from '../helpers/security.js';

const KEY = 'ck-budgeted-0123456789abcdef';
const FREE = 'ck-unbudgeted-0123456789ab';

async function budgeted(t: Teardown, opts: { price?: object; budget: object; plugins?: unknown[]; setup?: Parameters<typeof startGateway>[1] }) {
  const up = await startFakeUpstream(ok()); // usage: 10 input, 5 output tokens
  const gw = await startGateway(
    {
      providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
      routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x', ...(opts.price ? { price: opts.price } : {}) }] }],
      keys: [{ id: 'team', key: KEY, budget: opts.budget }, { id: 'free', key: FREE }],
      ...(opts.plugins ? { plugins: opts.plugins } : {}),
    },
    opts.setup,
  );
  t.teardown(async () => { await gw.close(); await up.close(); });
  const spent = () => gw.gw.security.counters.getTotal(budgetKey('team', (opts.budget as { period: 'day' | 'month' }).period, Date.now()).key);
  const send = async (key = KEY, path = '/chat/completions', body: object = chat()) => {
    const before = await spent();
    const r = await post(`${gw.baseURL}${path}`, body, { authorization: `Bearer ${key}` });
    // Settlement runs just after the response: wait for it so the next request sees it.
    if (r.status === 200 && key === KEY) await until(async () => (await spent()) > before, 1000);
    return r;
  };
  return { gw, up, send, spent };
}

t.test('a key\'s monthly budget, charged from the cost plugin\'s figures, ends in a 402 that says budget', async (t) => {
  // $1000 / $2000 per 1M tokens: 10 × 0.001 + 5 × 0.002 = $0.02 a request; budget $0.05.
  const { up, send, spent } = await budgeted(t, { price: { input: 1000, output: 2000 }, budget: { usd: 0.05, period: 'month' } });
  for (let i = 0; i < 3; i++) t.equal((await send()).status, 200, `request ${i + 1} within budget`);
  t.ok(Math.abs((await spent()) - 0.06) < 1e-9, 'spend is the sum of real request costs');
  const r = await send();
  t.equal(r.status, 402);
  t.match(r.json, { error: { code: 'SY_ERR_BUDGET_EXCEEDED', type: 'insufficient_quota', message: /spend budget exhausted for key team: \$0\.0600 of \$0\.0500 per month used; the budget resets at \d{4}-\d\d-01T00:00:00\.000Z/ } });
  t.equal(up.seen.length, 3, 'the refused request never reached the upstream');
  // Other keys are not affected.
  t.equal((await send(FREE)).status, 200);
});

t.test('budgets read outcome.costUsd as the cost plugin sets it', async (t) => {
  // No cost plugin, no prices: a stand-in postResponse hook says each request cost $1.
  const { send } = await budgeted(t, {
    budget: { usd: 2, period: 'day' },
    plugins: [],
    setup: {
      setup(hooks, gw) {
        ensureAnthropicEntry(gw);
        hooks.add('postResponse', (_ctx, outcome) => { outcome.costUsd = 1; }, 'stand-in-cost');
      },
    },
  });
  t.equal((await send()).status, 200);
  t.equal((await send()).status, 200);
  const r = await send();
  t.equal(r.status, 402);
  t.match(r.json, { error: { message: /\$2\.00 of \$2\.00 per day/ } });
  const a = await send(KEY, '/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(a.status, 402);
  t.match(a.json, { type: 'error', error: { code: 'SY_ERR_BUDGET_EXCEEDED', message: /budget/ } });
});

t.test('without the cost plugin, spend falls back to usage × the served target\'s price', async (t) => {
  const { send, spent } = await budgeted(t, { price: { input: 1000, output: 2000 }, budget: { usd: 0.03, period: 'day' }, plugins: [] });
  t.equal((await send()).status, 200);
  t.ok(Math.abs((await spent()) - 0.02) < 1e-9);
  t.equal((await send()).status, 200);
  t.equal((await send()).status, 402, 'a configured budget is never silently unenforced');
});

t.test('budget periods are UTC days and months', async (t) => {
  const at = Date.UTC(2025, 0, 31, 23, 59, 59);
  t.same(periodOf('day', at), { id: '2025-01-31', startsAt: Date.UTC(2025, 0, 31), endsAt: Date.UTC(2025, 1, 1) });
  t.same(periodOf('month', at), { id: '2025-01', startsAt: Date.UTC(2025, 0, 1), endsAt: Date.UTC(2025, 1, 1) });
  t.equal(periodOf('month', Date.UTC(2025, 11, 15)).endsAt, Date.UTC(2026, 0, 1));
});
