import t from 'tap';
import { startFakeUpstream, chunk } from '../helpers/fake-upstream.js';
import { routeOver, startGateway } from '../helpers/gateway.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two streaming bugs in core/attempts/send.ts:
 * - an error verdict while lifecycle frames are held used to return without destroying the
 *   upstream body, so an upstream that went on streaming kept its connection (and generation);
 * - undici's bodyTimeout (= idle_timeout_ms) ran before the first content frame, so a
 *   timeout_ms above idle_timeout_ms was never honoured.
 */

t.test('a stream that fails before content (error frame) is aborted upstream when the gateway fails over', async (t) => {
  const a = await startFakeUpstream(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: '' }));
    res.write(`data: ${JSON.stringify({ error: { type: 'server_error', message: 'oops' } })}\n\n`);
    // A server that keeps generating after its error frame.
    for (let i = 0; i < 60 && !res.destroyed; i++) {
      await sleep(50);
      res.write(chunk(model, { content: 'x' }));
    }
    res.end('data: [DONE]\n\n');
  });
  const b = await startFakeUpstream(async (seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(chunk(String(seen.body?.model), { content: 'from b' }) + 'data: [DONE]\n\n');
  });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { retries: 0 }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  t.match(await res.text(), /from b/);
  const t0 = Date.now();
  const closed = await Promise.race([a.seen[0].closed.then(() => true), sleep(1000).then(() => false)]);
  t.ok(closed, `the failed upstream call was closed (${Date.now() - t0} ms after the answer)`);
});

t.test('timeout_ms, not idle_timeout_ms, bounds the wait for first content', async (t) => {
  const a = await startFakeUpstream(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: '' }));
    await sleep(1500);
    if (res.destroyed) return;
    res.write(chunk(model, { content: 'slow thinker' }));
    res.end('data: [DONE]\n\n');
  });
  const b = await startFakeUpstream(async (seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(chunk(String(seen.body?.model), { content: 'from b' }) + 'data: [DONE]\n\n');
  });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { timeout_ms: 3000, idle_timeout_ms: 300, retries: 0 }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  const text = await res.text();
  t.match(text, /slow thinker/);
  t.equal(res.headers.get('x-switchyard-attempts'), '1');
});
