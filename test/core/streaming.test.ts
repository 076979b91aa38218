import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, stream, fail, hang, stallAfterHeaders, chunk } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

async function collect(baseURL: string, body: Partial<OpenAI.Chat.ChatCompletionCreateParamsStreaming> = {}) {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data: s, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }).withResponse();
  let text = '';
  let finish: string | null = null;
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish, response };
}

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
