import t from 'tap';
import { startFakeUpstream, stream, fail, hang, stallAfterHeaders, chunk } from '../helpers/fake-upstream.js';
import { startGateway, routeOver, collectChatStream as collect } from '../helpers/gateway.js';

/** Raw SSE text of a stream request. */
async function rawStream(baseURL: string) {
  const res = await fetch(`${baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  return { res, text: await res.text() };
}

t.test('a stream passes through frame by frame and ends with [DONE]', async (t) => {
  const a = await startFakeUpstream(stream(['Hel', 'lo', ' world']));
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'Hello world');
  t.equal(r.finish, 'stop');
  t.equal(r.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  t.equal(r.response.headers.get('x-switchyard-route-mode'), 'direct');
  const raw = await rawStream(gw.baseURL);
  t.match(raw.text, /data: \[DONE\]\n\n$/);
});

t.test('a failure before the first content frame fails over invisibly', async (t) => {
  const a = await startFakeUpstream(stream(['never'], { cutBeforeContent: true }));
  const b = await startFakeUpstream(stream(['from', ' b']));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'from b', 'the client saw only the second target\'s stream');
  t.equal(r.response.headers.get('x-switchyard-route-mode'), 'model_fallback');
  t.equal(r.response.headers.get('x-switchyard-attempts'), '2');
  t.equal(a.seen.length, 1);
});

t.test('an error status before the stream starts fails over', async (t) => {
  const a = await startFakeUpstream(fail(429));
  const b = await startFakeUpstream(stream(['ok']));
  const gw = await startGateway(routeOver([a.url, b.url]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'ok');
});

t.test('a malformed SSE frame before content is a server error that fails over', async (t) => {
  const a = await startFakeUpstream(async (_s, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('data: {not json\n\n');
  });
  const b = await startFakeUpstream(stream(['clean']));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'clean');
});

t.test('a cut after content ends the stream with an error event and no [DONE]', async (t) => {
  const a = await startFakeUpstream(stream(['part', 'ial', 'never'], { cutAfter: 2 }));
  const b = await startFakeUpstream(stream(['should not be used']));
  const gw = await startGateway(routeOver([a.url, b.url]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const raw = await rawStream(gw.baseURL);
  t.equal(raw.res.status, 200);
  t.match(raw.text, /"content":"part"/);
  t.match(raw.text, /data: \{"error":\{"message":"upstream stream failed after content was sent[^"]*","type":"api_error","param":null,"code":"SY_ERR_STREAM_INTERRUPTED"\}\}\n\n$/);
  t.notMatch(raw.text, /\[DONE\]/, 'a cut is never dressed up as a finished answer');
  t.equal(b.seen.length, 0, 'no silent switch after content was sent');
  // And the official SDK surfaces it as an error, not a short answer.
  const err = await collect(gw.baseURL).catch((e: unknown) => e);
  t.type(err, Error);
});

t.test('an upstream that sends headers and then stalls fails over after timeout_ms', async (t) => {
  const a = await startFakeUpstream(stallAfterHeaders());
  const b = await startFakeUpstream(stream(['fast']));
  const gw = await startGateway(routeOver([a.url, b.url], { timeout_ms: 300 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'fast');
  await a.seen[0].closed; // the stalled upstream call was aborted
  t.pass('stalled upstream request was closed');
});

t.test('role-only lifecycle frames do not count as content: a stall after them still fails over', async (t) => {
  const a = await startFakeUpstream(async (s, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk('x', { role: 'assistant', content: '' }));
    await s.closed;
  });
  const b = await startFakeUpstream(stream(['b']));
  const gw = await startGateway(routeOver([a.url, b.url], { timeout_ms: 300 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'b');
});

t.test('idle timeout once content flows ends the stream with an error event', async (t) => {
  const a = await startFakeUpstream(stream(['one', 'two'], { stallAfter: 1 }));
  const gw = await startGateway(routeOver([a.url], { idle_timeout_ms: 300 }));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const raw = await rawStream(gw.baseURL);
  t.match(raw.text, /"content":"one"/);
  t.match(raw.text, /idle timeout/);
  t.notMatch(raw.text, /\[DONE\]/);
});

t.test('the client disconnecting aborts the upstream call', async (t) => {
  const a = await startFakeUpstream(stream(['a', 'b', 'c', 'd', 'e', 'f'], { delayMs: 200 }));
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const ac = new AbortController();
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }), signal: ac.signal });
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  const t0 = Date.now();
  await a.seen[0].closed;
  t.ok(Date.now() - t0 < 1000, 'upstream request closed soon after the client left');

  // Non-stream too: a hanging upstream is released when the client leaves.
  const h = await startFakeUpstream(hang());
  const gw2 = await startGateway(routeOver([h.url]));
  t.teardown(async () => { await gw2.close(); await h.close(); });
  const ac2 = new AbortController();
  const p = fetch(`${gw2.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }), signal: ac2.signal }).catch(() => null);
  while (h.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  ac2.abort();
  await p;
  await h.seen[0].closed;
  t.pass('hanging upstream released');
});

t.test('usage is counted even when the upstream omits it', async (t) => {
  const a = await startFakeUpstream(stream(['four', 'char', 'word']));
  const seen: unknown[] = [];
  const gw = await startGateway(routeOver([a.url]), { setup: (hooks) => hooks.add('postResponse', (_ctx, o) => { seen.push(o.usage); }, 'test') });
  t.teardown(async () => { await gw.close(); await a.close(); });
  await collect(gw.baseURL);
  await new Promise((r) => setTimeout(r, 20));
  t.match(seen[0], { outputTokens: 3, estimated: true });

  const b = await startFakeUpstream(stream(['x'], { usage: true }));
  const seen2: unknown[] = [];
  const gw2 = await startGateway(routeOver([b.url]), { setup: (hooks) => hooks.add('postResponse', (_ctx, o) => { seen2.push(o.usage); }, 'test') });
  t.teardown(async () => { await gw2.close(); await b.close(); });
  await collect(gw2.baseURL, { stream_options: { include_usage: true } });
  await new Promise((r) => setTimeout(r, 20));
  t.match(seen2[0], { inputTokens: 7, outputTokens: 1, estimated: false });
});

t.test('a slow client holds the upstream back: the gateway stops reading instead of queueing the stream, and it arrives whole', async (t) => {
  const FRAME = 'x'.repeat(16 * 1024);
  const FRAMES = 3072; // 48 MiB of content: more than loopback socket buffers hold
  let written = 0;
  const a = await startFakeUpstream(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < FRAMES && !res.destroyed; i++) {
      const c = chunk(model, { content: FRAME });
      written += c.length;
      if (!res.write(c)) await new Promise((r) => res.once('drain', r));
    }
    res.end('data: [DONE]\n\n');
  });
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });

  const { request } = await import('node:http');
  const url = new URL(`${gw.baseURL}/chat/completions`);
  const done = new Promise<{ heldBack: number; content: number; tail: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let content = 0;
      let tail = '';
      let carry = '';
      let heldBack = -1;
      res.setEncoding('utf8');
      res.once('data', () => {
        // Stop reading for a while: everything the upstream managed to write meanwhile is held somewhere.
        res.pause();
        setTimeout(() => {
          heldBack = written;
          res.resume();
        }, 400);
      });
      res.on('data', (s: string) => {
        const text = carry + s;
        const cut = text.lastIndexOf('\n\n');
        carry = cut === -1 ? text : text.slice(cut + 2);
        for (const line of (cut === -1 ? '' : text.slice(0, cut)).split('\n\n')) {
          if (line.startsWith('data: {')) content += ((JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta?.content ?? '').length;
          if (line) tail = line;
        }
      });
      res.on('end', () => resolve({ heldBack, content, tail }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  });
  const r = await done;
  t.equal(r.content, FRAME.length * FRAMES, 'every byte of content arrived, in frames that parse');
  t.equal(r.tail, 'data: [DONE]', 'ends with [DONE]');
  t.ok(r.heldBack > 0 && r.heldBack < written / 2, `the upstream was held back while the client did not read (${(r.heldBack / 2 ** 20).toFixed(1)} of ${(written / 2 ** 20).toFixed(1)} MiB written)`);
});

t.test('a finished stream hands its upstream connection back for the next request', async (t) => {
  const ports: number[] = [];
  const a = await startFakeUpstream(async (seen, res, req) => {
    ports.push(req.socket.remotePort!);
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { content: 'a' }) + chunk(model, { content: 'b' }) + chunk(model, {}, 'stop') + 'data: [DONE]\n\n');
    // The response itself ends a little after [DONE]: the gateway must read to the end, not cut it.
    await new Promise((r) => setTimeout(r, 30));
    res.end();
  });
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  for (let i = 0; i < 3; i++) {
    t.equal((await collect(gw.baseURL)).text, 'ab');
    await a.seen[i].closed;
    await new Promise((r) => setTimeout(r, 100)); // time for the gateway to read the end and pool the connection
  }
  t.equal(ports.length, 3);
  t.equal(new Set(ports).size, 1, 'one upstream connection served all three streams');
});
