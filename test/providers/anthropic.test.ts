import t from 'tap';
import OpenAI from 'openai';
import { classifyAnthropic } from '../../core/providers/anthropic/classify.js';
import { anthropicAdapter } from '../../core/providers/anthropic/adapter.js';
import { startFakeUpstream, stream, closedPort } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, anthropicStream, anthropicError, overloaded } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds, parseSse } from '../helpers/mixed-route.js';

const body = (type: string, message = 'x') => Buffer.from(JSON.stringify({ type: 'error', error: { type, message } }));
const openai = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
const ask = { model: 'm', messages: [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: 'hi' }] };

t.test('the Anthropic error taxonomy', async (t) => {
  t.equal(classifyAnthropic(529, {}, body('overloaded_error', 'Overloaded')).class, 'overloaded');
  t.equal(classifyAnthropic(503, {}, Buffer.from('<html>')).class, 'overloaded');
  const reset = new Date(Date.now() + 20_000).toISOString();
  const rl = classifyAnthropic(429, { 'anthropic-ratelimit-requests-reset': reset }, body('rate_limit_error'));
  t.equal(rl.class, 'rate_limited');
  t.ok(rl.retryAfterMs! > 15_000 && rl.retryAfterMs! <= 20_000, 'the reset header becomes the wait');
  t.equal(classifyAnthropic(429, { 'retry-after': '7' }, body('rate_limit_error')).retryAfterMs, 7000);
  t.equal(classifyAnthropic(400, {}, body('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.')).class, 'quota');
  t.equal(classifyAnthropic(402, {}, body('billing_error')).class, 'quota');
  t.equal(classifyAnthropic(401, {}, body('authentication_error', 'invalid x-api-key')).class, 'account_auth');
  t.equal(classifyAnthropic(403, {}, body('permission_error')).class, 'account_auth');
  const long = classifyAnthropic(400, { 'content-type': 'application/json' }, body('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'));
  t.equal(long.class, 'context_length');
  t.ok(long.body, 'context_length keeps the body to pass through');
  for (const s of [400, 404, 413, 422]) t.equal(classifyAnthropic(s, {}, body('invalid_request_error')).class, 'request_invalid', `${s}`);
  for (const s of [500, 502, 504]) t.equal(classifyAnthropic(s, {}, body('api_error')).class, 'server_error', `${s}`);
  const f = classifyAnthropic(401, {}, body('authentication_error', 'bad key sk-ant-secret'));
  t.notMatch(f.message, /sk-ant/, 'messages name status and type only');
});

t.test('adapter headers: x-api-key, anthropic-version, json', async (t) => {
  const h = anthropicAdapter.headers({ id: 'c', kind: 'anthropic', base_url: 'https://api.anthropic.com', api_key: 'sk-ant-k', headers: { 'x-extra': '1' }, connect_timeout_ms: 1, max_connections: 1, anthropic_version: '2023-06-01' });
  t.same(h, { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-extra': '1', 'x-api-key': 'sk-ant-k' });
  t.notOk(anthropicAdapter.exchange('openai.embeddings'), 'no embeddings on Anthropic');
});

t.test('base_url with or without /v1 reaches /v1/messages', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: `${a.url}/v1` }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  await openai(gw.baseURL).chat.completions.create(ask);
  t.equal(a.seen[0].path, '/v1/messages');
});

t.test('chat.completions.create over an Anthropic upstream', async (t) => {
  const a = await startFakeAnthropic(anthropicOk('hello from claude'));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url, target: { max_output_tokens: 1000 } }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const r = await openai(gw.baseURL).chat.completions.create(ask);
  t.equal(r.object, 'chat.completion');
  t.equal(r.choices[0].message.content, 'hello from claude');
  t.equal(r.choices[0].finish_reason, 'stop');
  t.equal(r.model, 'm');
  t.match(r.usage, { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 });
  t.equal(a.seen[0].path, '/v1/messages');
  t.same(a.seen[0].body, { model: 'up-model-1', max_tokens: 1000, system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, 'max_tokens defaulted from the target');

  await openai(gw.baseURL).chat.completions.create({ ...ask, max_tokens: 33 });
  t.equal((a.seen[1].body as { max_tokens: number }).max_tokens, 33);
});

t.test('max_tokens defaults to 4096 for an Anthropic target without max_output_tokens', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  await openai(gw.baseURL).chat.completions.create(ask);
  t.equal((a.seen[0].body as { max_tokens: number }).max_tokens, 4096);
});

t.test('chat.completions stream over an Anthropic upstream: chunks, finish_reason, usage, [DONE]', async (t) => {
  const a = await startFakeAnthropic(anthropicStream(['Hel', 'lo', '!'], { usage: { input_tokens: 30, output_tokens: 4 } }));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const s = await openai(gw.baseURL).chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: unknown = null;
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  t.equal(text, 'Hello!');
  t.equal(finish, 'stop');
  t.match(usage, { prompt_tokens: 30, completion_tokens: 4 });
  const raw = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
  const txt = await raw.text();
  t.match(txt, /data: \[DONE\]\n\n$/);
  t.notMatch(txt, /event:/, 'OpenAI framing: data lines only');
});

t.test('tool calls over an Anthropic upstream (non-stream and stream)', async (t) => {
  const tool = { id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'c' } };
  const a = await startFakeAnthropic(anthropicOk('', { tool }));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const r = await openai(gw.baseURL).chat.completions.create({ ...ask, tools });
  t.equal(r.choices[0].finish_reason, 'tool_calls');
  const call = r.choices[0].message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
  t.equal(call.id, 'toolu_01');
  t.same(JSON.parse(call.function.arguments), tool.input);
  t.match(a.seen[0].body, { tools: [{ name: 'get_weather', input_schema: tools[0].function.parameters }] });

  // The result goes back as a tool_result block.
  await openai(gw.baseURL).chat.completions.create({ ...ask, tools, messages: [...ask.messages, r.choices[0].message, { role: 'tool', tool_call_id: 'toolu_01', content: '22C' }] });
  t.match((a.seen[1].body as { messages: unknown[] }).messages, [{ role: 'user' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: tool.input }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '22C' }] }]);

  const s = await openai(gw.baseURL).chat.completions.create({ ...ask, tools, stream: true });
  let args = '';
  let name = '';
  let finish: string | null = null;
  for await (const c of s) {
    const tc = c.choices[0]?.delta?.tool_calls?.[0];
    if (tc?.function?.name) name = tc.function.name;
    args += tc?.function?.arguments ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  t.equal(name, 'get_weather');
  t.same(JSON.parse(args), tool.input);
  t.equal(finish, 'tool_calls');
});

t.test('Anthropic errors reach an OpenAI client in the OpenAI shape', async (t) => {
  const a = await startFakeAnthropic(anthropicError(400, 'invalid_request_error', 'temperature: must be <= 1'));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const err = (await openai(gw.baseURL).chat.completions.create(ask).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.equal(err.status, 400);
  t.match(err.error, { message: 'temperature: must be <= 1', type: 'invalid_request_error' });

  a.fallback = anthropicError(400, 'invalid_request_error', 'prompt is too long: 250000 tokens > 200000 maximum');
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask) });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { code: 'context_length_exceeded', type: 'invalid_request_error' } });
});

t.test('a 429 with anthropic-ratelimit reset headers falls back to the next target', async (t) => {
  const a = await startFakeAnthropic(anthropicError(429, 'rate_limit_error', 'slow down', { 'anthropic-ratelimit-requests-reset': new Date(Date.now() + 60_000).toISOString() }));
  const b = await startFakeUpstream(stream(['from b']));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: b.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const s = await openai(gw.baseURL).chat.completions.create({ ...ask, stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
  t.equal(text, 'from b');
  t.equal(a.seen.length, 1, 'not retried: the reset is far away');
});

t.test('a lone overloaded Anthropic target: exhausted 503 with x-should-retry false', async (t) => {
  const a = await startFakeAnthropic(overloaded());
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask) });
  t.equal(res.status, 503);
  t.equal(res.headers.get('x-should-retry'), 'false');
  t.match(await res.json(), { error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED' } });
});

t.test('a cut after content on chat over Anthropic ends with an OpenAI error frame and no [DONE]', async (t) => {
  const a = await startFakeAnthropic(anthropicStream(['part', 'ial', 'never'], { cutAfter: 2 }));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
  const txt = await res.text();
  t.match(txt, /"content":"part"/);
  t.match(txt, /data: \{"error":\{"message":"upstream stream failed after content was sent[^"]*","type":"api_error","param":null,"code":"SY_ERR_STREAM_INTERRUPTED"\}\}\n\n$/);
  t.notMatch(txt, /\[DONE\]/);

  // A stream that ends without message_stop is a cut too.
  a.fallback = anthropicStream(['a', 'b'], { noStop: true });
  const res2 = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
  const txt2 = await res2.text();
  t.match(txt2, /SY_ERR_STREAM_INTERRUPTED/);
  t.notMatch(txt2, /\[DONE\]/);
  const frames = parseSse(txt2);
  t.ok(frames.some((f) => (f.data as { choices?: { finish_reason?: string }[] }).choices?.[0]?.finish_reason === 'stop'), 'the finish chunk from message_delta still went out');
});

t.test('a cut before content on an Anthropic upstream fails over invisibly; a connect error too', async (t) => {
  const a = await startFakeAnthropic(anthropicStream(['x'], { cutBeforeContent: true }));
  const port = await closedPort();
  const b = await startFakeAnthropic(anthropicStream(['from c']));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'anthropic', url: `http://127.0.0.1:${port}` }, { kind: 'anthropic', url: b.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const s = await openai(gw.baseURL).chat.completions.create({ ...ask, stream: true });
  let text = '';
  let roles = 0;
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    if (c.choices[0]?.delta?.role) roles++;
  }
  t.equal(text, 'from c');
  t.equal(roles, 1, 'one role chunk: the failed attempt\'s was held and dropped');
});
