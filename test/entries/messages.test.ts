import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, stream, fail, chunk, chatCompletion, ok } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, anthropicStream, anthropicError, overloaded } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds, parseSse } from '../helpers/mixed-route.js';

const client = (url: string, apiKey = 'unused') => new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });
const ask = { model: 'm', max_tokens: 256, system: 'be brief', messages: [{ role: 'user' as const, content: 'hi' }] };

async function rawMessages(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers }, body: JSON.stringify(body) });
  return { res, text: await res.text() };
}

t.test('messages.create over an OpenAI-compatible upstream', async (t) => {
  const a = await startFakeUpstream(ok('hello from openai'));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const { data: msg, response } = await client(gw.url).messages.create(ask).withResponse();
  t.equal(msg.type, 'message');
  t.equal(msg.role, 'assistant');
  t.same(msg.content, [{ type: 'text', text: 'hello from openai' }]);
  t.equal(msg.stop_reason, 'end_turn');
  t.equal(msg.model, 'm', 'the client sees the public model name');
  t.match(msg.usage, { input_tokens: 10, output_tokens: 5 });
  t.equal(response.headers.get('x-switchyard-provider'), 'p1');
  t.equal(response.headers.get('x-switchyard-model'), 'up-model-1');
  t.equal(a.seen[0].path, '/v1/chat/completions');
  t.match(a.seen[0].body, { model: 'up-model-1', max_tokens: 256, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] });
});

t.test('messages.create over an Anthropic upstream is a passthrough with x-api-key and anthropic-version', async (t) => {
  const a = await startFakeAnthropic(anthropicOk('hello from claude'));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url, provider: { anthropic_version: '2023-06-01' } }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const msg = await client(gw.url).messages.create(ask, { headers: { 'anthropic-beta': 'fake-beta-2025-01-01' } });
  t.same(msg.content, [{ type: 'text', text: 'hello from claude' }]);
  t.match(msg.usage, { input_tokens: 12, output_tokens: 6 });
  const seen = a.seen[0];
  t.equal(seen.path, '/v1/messages');
  t.equal(seen.headers['x-api-key'], 'sk-test-provider-key-1', 'the provider key, not the client\'s');
  t.equal(seen.headers['anthropic-version'], '2023-06-01');
  t.equal(seen.headers['anthropic-beta'], 'fake-beta-2025-01-01', 'beta flags are forwarded on the passthrough');
  t.notOk(seen.headers.authorization);
  t.same(seen.body, { ...ask, model: 'up-model-1' });
});

t.test('messages.stream over an OpenAI-compatible upstream: the full event sequence with exact usage', async (t) => {
  const a = await startFakeUpstream(stream(['Hel', 'lo', ' world'], { usage: true }));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const s = client(gw.url).messages.stream(ask);
  const types: string[] = [];
  s.on('streamEvent', (e) => types.push(e.type));
  const msg = await s.finalMessage();
  t.same(msg.content, [{ type: 'text', text: 'Hello world' }]);
  t.equal(msg.stop_reason, 'end_turn');
  t.match(msg.usage, { input_tokens: 7, output_tokens: 3 });
  t.same(types, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  t.match(a.seen[0].body, { stream: true, stream_options: { include_usage: true } });
});

t.test('messages.stream over an Anthropic upstream passes the events through', async (t) => {
  const a = await startFakeAnthropic(anthropicStream(['Hel', 'lo']));
  const seenUsage: unknown[] = [];
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]), { setup: (hooks) => hooks.add('postResponse', (_c, o) => { seenUsage.push(o.usage); }, 'test') });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const msg = await client(gw.url).messages.stream(ask).finalMessage();
  t.same(msg.content, [{ type: 'text', text: 'Hello' }]);
  t.equal(msg.model, 'up-model-1', 'passthrough: the upstream\'s own message');
  const raw = await rawMessages(gw.url, { ...ask, stream: true });
  const events = parseSse(raw.text).map((e) => e.event);
  t.same(events, ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  await new Promise((r) => setTimeout(r, 20));
  t.match(seenUsage[0], { inputTokens: 12, outputTokens: 6, estimated: false });
});

t.test('an Anthropic 529 on the first target fails over invisibly to an OpenAI-compatible target (streaming)', async (t) => {
  const a = await startFakeAnthropic(overloaded());
  const b = await startFakeUpstream(stream(['from', ' openai']));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: b.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { data: s, response } = await client(gw.url).messages.create({ ...ask, stream: true }).withResponse();
  let text = '';
  for await (const ev of s) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
  t.equal(text, 'from openai');
  t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
  t.equal(response.headers.get('x-switchyard-attempts'), '2');
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(a.seen.length, 1);
  t.equal(b.seen[0].path, '/v1/chat/completions');
});

t.test('an overloaded_error event before content also fails over invisibly, with one message_start', async (t) => {
  const a = await startFakeAnthropic(anthropicStream(['never'], { errorBeforeContent: 'overloaded_error' }));
  const b = await startFakeUpstream(stream(['ok']));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: b.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const raw = await rawMessages(gw.url, { ...ask, stream: true });
  t.equal(raw.res.status, 200);
  const events = parseSse(raw.text);
  t.equal(events.filter((e) => e.event === 'message_start').length, 1, 'the failed attempt\'s held message_start never reached the client');
  t.equal(events.filter((e) => e.event === 'error').length, 0);
  t.equal(events[events.length - 1].event, 'message_stop');
  t.equal(raw.res.headers.get('x-switchyard-provider'), 'p2');
});

for (const kind of ['openai', 'anthropic'] as const) {
  t.test(`a cut after content (${kind} upstream) ends with an error event and no message_stop`, async (t) => {
    const a = kind === 'openai' ? await startFakeUpstream(stream(['part', 'ial', 'never'], { cutAfter: 2 })) : await startFakeAnthropic(anthropicStream(['part', 'ial', 'never'], { cutAfter: 2 }));
    const b = await startFakeUpstream(stream(['should not be used']));
    const gw = await startGateway(routeOverKinds([{ kind, url: a.url }, { kind: 'openai', url: b.url }]));
    t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
    const raw = await rawMessages(gw.url, { ...ask, stream: true });
    t.equal(raw.res.status, 200);
    const events = parseSse(raw.text);
    t.match(raw.text, /"text":"part"/);
    const last = events[events.length - 1];
    t.equal(last.event, 'error');
    t.match(last.data, { type: 'error', error: { type: 'api_error', code: 'SY_ERR_STREAM_INTERRUPTED' } });
    t.notOk(events.some((e) => e.event === 'message_stop'), 'a cut is never dressed up as a finished answer');
    t.equal(b.seen.length, 0, 'no silent switch after content was sent');
    const err = await client(gw.url).messages.stream(ask).finalMessage().catch((e: unknown) => e);
    t.type(err, Error, 'the SDK surfaces it as an error');
  });
}

t.test('tool use round trip over an OpenAI-compatible upstream (non-stream and stream)', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const tools = [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }];
  a.queue((seen, res) => {
    const c = chatCompletion(String(seen.body?.model), '');
    Object.assign(c.choices[0], { message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(c));
  });
  const c = client(gw.url);
  const first = await c.messages.create({ ...ask, tools });
  t.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((b) => b.type === 'tool_use');
  t.match(use, { type: 'tool_use', id: 'call_abc', name: 'get_weather', input: { city: 'Paris' } });
  t.match(a.seen[0].body, { tools: [{ type: 'function', function: { name: 'get_weather', parameters: tools[0].input_schema } }] });

  a.queue(ok('It is sunny in Paris.'));
  const second = await c.messages.create({
    ...ask,
    tools,
    messages: [...ask.messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_abc', content: '22°C, sunny' }] }],
  });
  t.same(second.content, [{ type: 'text', text: 'It is sunny in Paris.' }]);
  const msgs = (a.seen[1].body as { messages: unknown[] }).messages;
  t.match(msgs, [{ role: 'system' }, { role: 'user' }, { role: 'assistant', tool_calls: [{ id: 'call_abc', function: { name: 'get_weather' } }] }, { role: 'tool', tool_call_id: 'call_abc', content: '22°C, sunny' }]);

  // Streaming: tool_calls chunks become a tool_use block with input_json_delta events.
  a.queue(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: null }));
    res.write(chunk(model, { tool_calls: [{ index: 0, id: 'call_s1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }));
    res.write(chunk(model, { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }));
    res.write(chunk(model, { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }));
    res.write(chunk(model, {}, 'tool_calls'));
    res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  const streamed = await c.messages.stream({ ...ask, tools }).finalMessage();
  t.equal(streamed.stop_reason, 'tool_use');
  t.match(streamed.content, [{ type: 'tool_use', id: 'call_s1', name: 'get_weather', input: { city: 'Oslo' } }]);
  t.match(streamed.usage, { input_tokens: 20, output_tokens: 9 });
});

t.test('upstream request errors reach an Anthropic client in the Anthropic shape', async (t) => {
  const a = await startFakeUpstream(fail(400, { error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: null } }));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const raw = await rawMessages(gw.url, ask);
  t.equal(raw.res.status, 400);
  t.same(JSON.parse(raw.text), { type: 'error', error: { type: 'invalid_request_error', message: 'bad temperature' } });
  const err = await client(gw.url).messages.create(ask).catch((e: unknown) => e);
  t.type(err, Anthropic.BadRequestError);

  const nf = await rawMessages(gw.url, { ...ask, model: 'nope' });
  t.equal(nf.res.status, 404);
  t.match(JSON.parse(nf.text), { type: 'error', error: { type: 'not_found_error', code: 'SY_ERR_MODEL_NOT_FOUND' } });

  // Anthropic upstream → Anthropic client: passed through untouched.
  const b = await startFakeAnthropic(anthropicError(400, 'invalid_request_error', 'messages: field required'));
  const gw2 = await startGateway(routeOverKinds([{ kind: 'anthropic', url: b.url }]));
  t.teardown(async () => { await gw2.close(); await b.close(); });
  const raw2 = await rawMessages(gw2.url, ask);
  t.equal(raw2.res.status, 400);
  t.match(JSON.parse(raw2.text), { type: 'error', error: { type: 'invalid_request_error', message: 'messages: field required' }, request_id: 'req_fake' });
});

t.test('curl-style raw HTTP to /v1/messages with x-api-key (client keys configured)', async (t) => {
  const a = await startFakeAnthropic(anthropicOk('hi curl'));
  const cfg = routeOverKinds([{ kind: 'anthropic', url: a.url }], {}, { keys: [{ id: 'team-a', key: 'sk-client-key-team-a' }] });
  const gw = await startGateway(cfg);
  t.teardown(async () => { await gw.close(); await a.close(); });
  const okRes = await rawMessages(gw.url, ask, { 'x-api-key': 'sk-client-key-team-a' });
  t.equal(okRes.res.status, 200);
  t.match(JSON.parse(okRes.text), { type: 'message', content: [{ type: 'text', text: 'hi curl' }] });
  t.ok(okRes.res.headers.get('x-request-id'));
  t.equal(a.seen[0].headers['x-api-key'], 'sk-test-provider-key-1', 'the client key never goes upstream');
  const bearer = await rawMessages(gw.url, ask, { authorization: 'Bearer sk-client-key-team-a' });
  t.equal(bearer.res.status, 200, 'a bearer key works too');
  const none = await rawMessages(gw.url, ask);
  t.equal(none.res.status, 401);
  t.match(JSON.parse(none.text), { type: 'error', error: { type: 'authentication_error' } });
  const sdk = await client(gw.url, 'sk-client-key-team-a').messages.create(ask);
  t.equal(sdk.content[0].type, 'text');
});

t.test('the beta surface Claude Code uses: /v1/messages?beta=true with anthropic-beta, stream and count_tokens', async (t) => {
  const a = await startFakeAnthropic(anthropicOk('beta ok', { inputTokens: 77 }));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = client(gw.url);
  const msg = await c.beta.messages.stream({ ...ask, betas: ['interleaved-thinking-2025-05-14'] }).finalMessage();
  t.same(msg.content, [{ type: 'text', text: 'beta ok' }]);
  t.equal(a.seen[0].path, '/v1/messages');
  t.equal(a.seen[0].headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
  const n = await c.beta.messages.countTokens({ model: 'm', messages: ask.messages, betas: ['token-counting-2024-11-01'] });
  t.equal(n.input_tokens, 77);
  t.equal(a.seen[1].path, '/v1/messages/count_tokens');
  t.match(a.seen[1].headers['anthropic-beta'], /token-counting-2024-11-01/, 'forwarded as the SDK sent it');
});
