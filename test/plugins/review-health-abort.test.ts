import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, hang, stream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, routeOver, chatStreamUntilEnd } from '../helpers/gateway.js';
import type { PluginDefinition } from '../../sdk/plugin.js';

/**
 * What the request's own end (client gone, the route's deadline) cut says nothing about the
 * targets: the health plugin must not score them down for it (nor any plugin's onError hear it).
 */

const ADMIN = 'admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hedge = (afterMs: number): PluginDefinition<unknown> => ({ name: 'hedge', version: '1.0.0', hooks: { selectProvider: (_ctx, plan) => ({ ...plan, hedgeAfterMs: afterMs }) } }) as PluginDefinition<unknown>;

interface TargetView { id: string; healthScore: number; lastErrorAt: string | null }
const targets = async (url: string) =>
  ((await (await fetch(`${url}/admin/api/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { targets: TargetView[] }).targets;

async function settled(up: FakeUpstream, index: number): Promise<void> {
  while (up.seen.length <= index) await sleep(5);
  await up.seen[index]!.closed;
  await sleep(50); // postResponse runs after the response
}

t.test('a hedged pair the client walked away from scores neither target down, and no onError hears it', async (t) => {
  const a = await startFakeUpstream(hang());
  const b = await startFakeUpstream(hang());
  const heard: string[] = [];
  const listener = { name: 'listener', version: '1.0.0', hooks: { onError: (_c: unknown, attempt: { target: string }) => void heard.push(attempt.target) } } as unknown as PluginDefinition<unknown>;
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), admin: { token: ADMIN } }, { plugins: [hedge(30), listener] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const ac = new AbortController();
  const req = client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal: ac.signal }).catch((e: unknown) => e);
  while (a.seen.length === 0 || b.seen.length === 0) await sleep(5); // both hedged attempts in flight
  ac.abort();
  t.type(await req, Error, 'the client gave up');
  await settled(a, 0);
  await settled(b, 0);
  t.same(heard, [], 'no onError for attempts the client cut');
  for (const x of await targets(gw.url)) {
    t.equal(x.lastErrorAt, null, `${x.id}: no failure recorded`);
    t.equal(x.healthScore, 1, `${x.id}: score unchanged`);
  }
});

t.test('a stream the route deadline cut after content flowed does not score its target down', async (t) => {
  const a = await startFakeUpstream(stream(['Hel', 'lo'], { stallAfter: 1 }));
  const gw = await startGateway({ ...routeOver([a.url], { retries: 0, deadline_ms: 400 }), admin: { token: ADMIN } });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const { text, error: end } = await chatStreamUntilEnd(gw.baseURL);
  t.equal(text, 'Hel', 'content flowed');
  t.ok(end, 'the stream ended with the deadline error event');
  await settled(a, 0);
  const [x] = await targets(gw.url);
  t.equal(x.lastErrorAt, null, 'no failure recorded for the gateway\'s own deadline');
  t.equal(x.healthScore, 1);
});
