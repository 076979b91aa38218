import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, hang, stallAfterHeaders } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

t.test('a non-stream upstream that never answers times out after timeout_ms and falls back', async (t) => {
  const a = await startFakeUpstream(hang());
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([a.url, b.url], { timeout_ms: 250 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(data.choices[0].message.content, 'from b');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
});

t.test('the request deadline bounds all attempts together: 504', async (t) => {
  const ups = await Promise.all([1, 2, 3].map(() => startFakeUpstream(hang())));
  const gw = await startGateway(routeOver(ups.map((u) => u.url), { timeout_ms: 300, deadline_ms: 500 }));
  t.teardown(async () => { await gw.close(); for (const u of ups) await u.close(); });
  const t0 = Date.now();
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  const took = Date.now() - t0;
  t.equal(res.status, 504);
  t.equal(res.headers.get('x-should-retry'), 'false');
  t.match(await res.json(), { error: { code: 'SY_ERR_DEADLINE', type: 'timeout_error' } });
  t.ok(took >= 450 && took < 1500, `answered at the deadline (${took} ms)`);
  t.equal(ups[2].seen.length, 0, 'the third target was never reached');
});

t.test('a non-stream answer whose body stalls after the headers fails over after idle_timeout_ms', async (t) => {
  const a = await startFakeUpstream(stallAfterHeaders('application/json'));
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([a.url, b.url], { timeout_ms: 60_000, idle_timeout_ms: 250, deadline_ms: 20_000 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  t.equal(data.choices[0].message.content, 'from b');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
  await a.seen[0].closed; // the stalled call was dropped, not left open
  t.pass('the stalled upstream call was closed');
});

t.test('an error body past the 256 KiB cap is cut off: the attempt fails over without reading the rest', async (t) => {
  // 1 MiB of a 500 body, then the upstream never finishes. Reading it whole would only end at
  // the 3 s deadline (a 504); the cap ends the attempt after 256 KiB instead.
  const a = await startFakeUpstream(async (seen, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.write(`{"error":{"message":"${'x'.repeat(1 << 20)}`);
    await seen.closed;
  });
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0, timeout_ms: 60_000, idle_timeout_ms: 60_000, deadline_ms: 3_000 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-switchyard-route-mode'), 'model_fallback');
  t.match(await res.json(), { choices: [{ message: { content: 'from b' } }] });
  await a.seen[0].closed;
  t.pass('the oversized error answer was dropped');
});
