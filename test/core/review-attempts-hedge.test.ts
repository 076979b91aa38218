import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail, type Behaviour } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import type { PluginDefinition } from '../../sdk/plugin.js';

/** Hedged pairs where both attempts fail: each failure still gets its taxonomy verdict. */

const after = (ms: number, b: Behaviour): Behaviour => async (s, res, req) => {
  await new Promise((r) => setTimeout(r, ms));
  await b(s, res, req);
};
const hedge = (afterMs: number): PluginDefinition<unknown> => ({ name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: afterMs }) } }) as PluginDefinition<unknown>;
const ask = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 9 }).withResponse();

t.test('a request-level 400 from both hedged targets is returned, and burns no further fallback', async (t) => {
  const bad = { error: { message: 'Invalid value for temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } };
  // Both answer after the hedge is due, so both run and both fail.
  const a = await startFakeUpstream(after(120, fail(400, bad)));
  const b = await startFakeUpstream(after(120, fail(400, bad)));
  const c = await startFakeUpstream(ok('from c'));
  const gw = await startGateway({ ...routeOver([a.url, b.url, c.url], { retries: 0 }), plugins: [] }, { plugins: [hedge(20)] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close(); });
  const err = await ask(gw.baseURL).catch((e: unknown) => e);
  t.type(err, OpenAI.BadRequestError, 'the upstream 400, not a later target\'s answer');
  t.match((err as InstanceType<typeof OpenAI.APIError>).error, { code: 'invalid_value', param: 'temperature' });
  t.equal(a.seen.length + b.seen.length, 2, 'the hedged pair ran');
  t.equal(c.seen.length, 0, 'no fallback for a bad request');
});

t.test('capacity failures from both hedged targets still fall back to the rest of the plan', async (t) => {
  const a = await startFakeUpstream(after(120, fail(503)));
  const b = await startFakeUpstream(after(120, fail(429)));
  const c = await startFakeUpstream(ok('from c'));
  const gw = await startGateway({ ...routeOver([a.url, b.url, c.url], { retries: 0 }), plugins: [] }, { plugins: [hedge(20)] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close(); });
  const { data, response } = await ask(gw.baseURL);
  t.equal(data.choices[0].message.content, 'from c');
  t.equal(response.headers.get('x-switchyard-attempts'), '3');
});

t.test('context_length from both hedged targets skips targets with no larger window', async (t) => {
  const tooLong = fail(400, { error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } });
  const a = await startFakeUpstream(after(120, tooLong));
  const b = await startFakeUpstream(after(120, tooLong));
  const c = await startFakeUpstream(ok('same window'));
  const d = await startFakeUpstream(ok('big window'));
  const gw = await startGateway({
    providers: [a, b, c, d].map((u, i) => ({ id: `p${i + 1}`, kind: 'openai', base_url: u.url })),
    routes: [{ model: 'm', retries: 0, targets: [
      { provider: 'p1', model: 'small', context_window: 8192 },
      { provider: 'p2', model: 'small', context_window: 8192 },
      { provider: 'p3', model: 'small', context_window: 8192 },
      { provider: 'p4', model: 'big', context_window: 200000 },
    ] }],
    plugins: [],
  }, { plugins: [hedge(20)] });
  t.teardown(async () => { for (const u of [a, b, c, d]) await u.close(); await gw.close(); });
  const { data } = await ask(gw.baseURL);
  t.equal(data.choices[0].message.content, 'big window');
  t.equal(c.seen.length, 0, 'the same-size window was skipped');
});
