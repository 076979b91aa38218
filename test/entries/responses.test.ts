import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, stream, ok, chunk, chatCompletion, fail } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, anthropicStream, overloaded } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds, parseSse } from '../helpers/mixed-route.js';

const openai = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
const ask = { model: 'm', instructions: 'be brief', input: 'hi', max_output_tokens: 200 };

async function collect(baseURL: string, body: Record<string, unknown> = {}) {
  const s = await openai(baseURL).responses.create({ ...ask, ...body, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming);
  const types: string[] = [];
  let text = '';
  let final: OpenAI.Responses.Response | null = null;
  for await (const ev of s) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') final = ev.response;
  }
  return { types, text, final };
}

for (const kind of ['openai', 'anthropic'] as const) {
  const start = () => (kind === 'openai' ? startFakeUpstream(ok('hello there')) : startFakeAnthropic(anthropicOk('hello there')));

  t.test(`responses.create (non-stream) over an ${kind} upstream`, async (t) => {
    const a = await start();
    const gw = await startGateway(routeOverKinds([{ kind, url: a.url }]));
    t.teardown(async () => { await gw.close(); await a.close(); });
    const r = await openai(gw.baseURL).responses.create(ask);
    t.equal(r.object, 'response');
    t.equal(r.status, 'completed');
    t.equal(r.output_text, 'hello there');
    t.equal(r.model, 'm');
    t.equal(r.instructions, 'be brief', 'request fields are echoed');
    t.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    if (kind === 'openai') {
      t.equal(a.seen[0].path, '/v1/chat/completions');
      t.match(a.seen[0].body, { model: 'up-model-1', max_tokens: 200, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] });
    } else {
      t.equal(a.seen[0].path, '/v1/messages');
      t.match(a.seen[0].body, { model: 'up-model-1', max_tokens: 200, system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    }
  });

  t.test(`responses.create stream over an ${kind} upstream`, async (t) => {
    const a = kind === 'openai' ? await startFakeUpstream(stream(['Hel', 'lo'], { usage: true })) : await startFakeAnthropic(anthropicStream(['Hel', 'lo']));
    const gw = await startGateway(routeOverKinds([{ kind, url: a.url }]));
    t.teardown(async () => { await gw.close(); await a.close(); });
    const r = await collect(gw.baseURL);
    t.equal(r.text, 'Hello');
    t.same(r.types, [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    t.equal(r.final?.status, 'completed');
    t.equal(r.final?.output_text ?? (r.final?.output[0] as { content: { text: string }[] }).content[0].text, 'Hello');
    t.match(r.final?.usage, kind === 'openai' ? { input_tokens: 7, output_tokens: 2 } : { input_tokens: 12, output_tokens: 6 });
    const raw = await fetch(`${gw.baseURL}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
    const txt = await raw.text();
    t.notMatch(txt, /\[DONE\]/, 'the Responses stream has no [DONE]');
    const seqs = parseSse(txt).map((e) => (e.data as { sequence_number: number }).sequence_number);
    t.same(seqs, seqs.map((_s, i) => i), 'sequence numbers count from 0 without gaps');
  });

  t.test(`a cut after content on responses over ${kind}: error + response.failed, never response.completed`, async (t) => {
    const a = kind === 'openai' ? await startFakeUpstream(stream(['part', 'ial', 'never'], { cutAfter: 2 })) : await startFakeAnthropic(anthropicStream(['part', 'ial', 'never'], { cutAfter: 2 }));
    const gw = await startGateway(routeOverKinds([{ kind, url: a.url }]));
    t.teardown(async () => { await gw.close(); await a.close(); });
    const raw = await fetch(`${gw.baseURL}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
    const events = parseSse(await raw.text());
    const types = events.map((e) => e.event);
    t.ok(types.includes('response.output_text.delta'));
    t.same(types.slice(-2), ['error', 'response.failed']);
    t.match(events[events.length - 2].data, { type: 'error', code: 'SY_ERR_STREAM_INTERRUPTED' });
    t.match(events[events.length - 1].data, { response: { status: 'failed', error: { code: 'SY_ERR_STREAM_INTERRUPTED' } } });
    t.notOk(types.includes('response.completed'));
    const r = await collect(gw.baseURL).catch((e: unknown) => e);
    if (r instanceof Error) t.pass('the SDK raised');
    else t.notOk((r as { final: unknown }).final, 'the SDK saw no completed response');
  });
}

t.test('function tools over Responses: a function_call item out, function_call_output back (OpenAI upstream)', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  a.queue((seen, res) => {
    const c = chatCompletion(String(seen.body?.model), '');
    Object.assign(c.choices[0], { message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] }, finish_reason: 'tool_calls' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(c));
  });
  const tools = [{ type: 'function' as const, name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }];
  const r = await openai(gw.baseURL).responses.create({ ...ask, tools });
  const call = r.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
  t.match(call, { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' });
  t.match(a.seen[0].body, { tools: [{ type: 'function', function: { name: 'lookup' } }] });

  a.queue(ok('found it'));
  const r2 = await openai(gw.baseURL).responses.create({ ...ask, tools, input: [{ role: 'user', content: 'hi' }, call, { type: 'function_call_output', call_id: 'call_1', output: 'result' }] });
  t.equal(r2.output_text, 'found it');
  t.match((a.seen[1].body as { messages: unknown[] }).messages, [{ role: 'system' }, { role: 'user' }, { role: 'assistant', tool_calls: [{ id: 'call_1' }] }, { role: 'tool', tool_call_id: 'call_1', content: 'result' }]);

  // Streamed tool calls become function_call_arguments events.
  a.queue(async (seen, res) => {
    const model = String(seen.body?.model);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk(model, { role: 'assistant', content: null }));
    res.write(chunk(model, { tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"q":' } }] }));
    res.write(chunk(model, { tool_calls: [{ index: 0, function: { arguments: '"y"}' } }] }));
    res.write(chunk(model, {}, 'tool_calls'));
    res.end('data: [DONE]\n\n');
  });
  const s = await openai(gw.baseURL).responses.create({ ...ask, tools, stream: true });
  let done: OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent | null = null;
  for await (const ev of s) if (ev.type === 'response.function_call_arguments.done') done = ev;
  t.match(done, { arguments: '{"q":"y"}' });
});

t.test('function tools over Responses against an Anthropic upstream (stream)', async (t) => {
  const a = await startFakeAnthropic(anthropicStream([], { tool: { id: 'toolu_9', name: 'lookup', input: { q: 'z' } } }));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const tools = [{ type: 'function' as const, name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }];
  const s = await openai(gw.baseURL).responses.create({ ...ask, tools, stream: true });
  let final: OpenAI.Responses.Response | null = null;
  for await (const ev of s) if (ev.type === 'response.completed') final = ev.response;
  t.match(final?.output, [{ type: 'function_call', call_id: 'toolu_9', name: 'lookup', arguments: '{"q":"z"}', status: 'completed' }]);
  t.match(a.seen[0].body, { tools: [{ name: 'lookup', input_schema: tools[0].parameters }] });
});

t.test('an Anthropic 529 fails over invisibly to an OpenAI-compatible target for a Responses stream', async (t) => {
  const a = await startFakeAnthropic(overloaded());
  const b = await startFakeUpstream(stream(['ok']));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: b.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const r = await collect(gw.baseURL);
  t.equal(r.text, 'ok');
  t.equal(r.types.filter((x) => x === 'response.created').length, 1);
});

t.test('upstream request errors on /v1/responses keep the OpenAI shape', async (t) => {
  const a = await startFakeUpstream(fail(400, { error: { message: 'bad input', type: 'invalid_request_error', param: 'input', code: null } }));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const err = (await openai(gw.baseURL).responses.create(ask).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.match(err.error, { message: 'bad input' });
});
