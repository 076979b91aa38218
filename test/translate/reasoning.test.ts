import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { Behaviour } from '../helpers/fake-upstream.js';
import { startFakeUpstream, chatCompletion, chunk, fail } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicMessage, sse } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Reasoning across the protocols (core/translate/README.md, "Reasoning"): the request knob
// both ways (reasoning_effort / reasoning.effort <-> thinking), the reasoning text both ways
// (thinking blocks <-> reasoning_content / reasoning), and the Anthropic rules around thinking
// that would otherwise turn a valid client request into an upstream 400.

const openai = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
const anthropic = (url: string) => new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });

/**
 * @anthropic-ai/sdk 1.x no longer types temperature/top_p on messages.create, but clients still
 * send them; this lets a test send them (fully type-checked otherwise) to see what the gateway forwards.
 */
type WithSampling = Anthropic.MessageCreateParamsNonStreaming & { temperature?: number; top_p?: number };
const withSampling = (p: WithSampling): Anthropic.MessageCreateParamsNonStreaming => p;

const hi = [{ role: 'user' as const, content: 'think about it' }];

/** A Claude answer with thinking, a redacted block and the text, as JSON or as its event stream. */
const claudeThinks: Behaviour = (seen, res) => {
  const model = String(seen.body?.model);
  if (seen.body?.stream !== true) {
    const msg = anthropicMessage(model, 'Answer.');
    msg.content = [
      { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBsig' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy' },
      ...msg.content,
    ];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(msg));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(sse('message_start', { message: { ...anthropicMessage(model, ''), content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }));
  res.write(sse('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }));
  res.write(sse('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Let me ' } }));
  res.write(sse('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'think.' } }));
  res.write(sse('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'EqQBsig' } }));
  res.write(sse('content_block_stop', { index: 0 }));
  res.write(sse('content_block_start', { index: 1, content_block: { type: 'redacted_thinking', data: 'EmwKAhgBEgy' } }));
  res.write(sse('content_block_stop', { index: 1 }));
  res.write(sse('content_block_start', { index: 2, content_block: { type: 'text', text: '' } }));
  res.write(sse('content_block_delta', { index: 2, delta: { type: 'text_delta', text: 'Answer.' } }));
  res.write(sse('content_block_stop', { index: 2 }));
  res.write(sse('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 30 } }));
  res.end(sse('message_stop', {}));
};

/** An OpenAI-compatible reasoning server: `field` carries the reasoning (DeepSeek: reasoning_content, vLLM >= 0.10: reasoning). */
const serverReasons = (field: 'reasoning_content' | 'reasoning'): Behaviour => (seen, res) => {
  const model = String(seen.body?.model);
  if (seen.body?.stream !== true) {
    const c = chatCompletion(model, 'Answer.');
    Object.assign(c.choices[0].message, { [field]: 'Let me think.' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(c));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  res.write(chunk(model, { [field]: 'Let me ' }));
  res.write(chunk(model, { [field]: 'think.' }));
  res.write(chunk(model, { content: 'Answer.' }));
  res.write(chunk(model, {}, 'stop'));
  res.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 } })}\n\n`);
  res.end('data: [DONE]\n\n');
};

// ─────────────────────────────── OpenAI request → Anthropic thinking ───────────────────────────────

t.test('chat reasoning_effort over an Anthropic upstream becomes thinking with a documented budget', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = openai(gw.baseURL);
  const sent = () => {
    const b = a.seen[a.seen.length - 1].body ?? {};
    return { max_tokens: b.max_tokens, thinking: b.thinking, temperature: b.temperature, top_p: b.top_p };
  };

  // No client cap: the default 4096-token allowance cannot hold the budget, so max_tokens is budget + 4096 for the answer.
  // Thinking takes temperature 1 only and top_p in 0.95-1: temperature is left out, top_p raised.
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'high', temperature: 0.2, top_p: 0.5 });
  t.same(sent(), { max_tokens: 4096 + 16384, thinking: { type: 'enabled', budget_tokens: 16384 }, temperature: undefined, top_p: 0.95 });

  // A client cap is kept (both APIs count reasoning inside it); the budget fits under it, at most half.
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'low', max_completion_tokens: 3000 });
  t.same(sent(), { max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 1500 }, temperature: undefined, top_p: undefined });
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'medium', max_tokens: 100000 });
  t.same(sent(), { max_tokens: 100000, thinking: { type: 'enabled', budget_tokens: 8192 }, temperature: undefined, top_p: undefined });
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'minimal', max_tokens: 1500 });
  t.same(sent(), { max_tokens: 1500, thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: undefined, top_p: undefined }, 'never below the 1024 floor');

  // A cap of 1024 or less cannot hold Anthropic's minimum budget: the answer goes without thinking, within the cap.
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'high', max_tokens: 1000, temperature: 0.2 });
  t.same(sent(), { max_tokens: 1000, thinking: undefined, temperature: 0.2, top_p: undefined });
  await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'none' });
  t.same(sent(), { max_tokens: 4096, thinking: undefined, temperature: undefined, top_p: undefined });

  // The Responses API's reasoning.effort rides the same bridge; max_output_tokens is the client cap.
  const r = await c.responses.create({ model: 'm', input: 'think', reasoning: { effort: 'medium' }, max_output_tokens: 20000 });
  t.same(sent(), { max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 8192 }, temperature: undefined, top_p: undefined });
  t.equal(r.reasoning?.effort, 'medium', 'the Response echoes the effort asked for');

  // A value OpenAI would refuse is refused here too, in the OpenAI shape, before any upstream call.
  const n = a.seen.length;
  const err = (await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'extreme' as 'high' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.match(err.message, /reasoning_effort "extreme" is not one of none, minimal, low, medium, high/);
  t.equal(a.seen.length, n);
});

t.test('without a client cap, a target allowance that holds the budget is max_tokens as is', async (t) => {
  // An operator's max_output_tokens is often the model's own limit: adding the budget on top would be a 400.
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url, target: { max_output_tokens: 30000 } }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  await openai(gw.baseURL).chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'high' });
  t.match(a.seen[0].body, { max_tokens: 30000, thinking: { type: 'enabled', budget_tokens: 16384 } });
  await openai(gw.baseURL).chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'max' });
  t.match(a.seen[1].body, { max_tokens: 27648 + 4096, thinking: { type: 'enabled', budget_tokens: 27648 } }, 'too small for budget + answer: raised, still under 32,000');
});

t.test('thinking is left out where Anthropic would refuse it: a forced tool choice, the middle of a tool loop', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = openai(gw.baseURL);
  const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];

  // "Thinking may not be enabled when tool_choice forces tool use": the forced call is the client's contract.
  await c.chat.completions.create({ model: 'm', messages: hi, tools, tool_choice: 'required', reasoning_effort: 'high' });
  t.match(a.seen[0].body, { tool_choice: { type: 'any' } });
  t.notOk('thinking' in (a.seen[0].body ?? {}));
  // tool_choice auto keeps thinking.
  await c.chat.completions.create({ model: 'm', messages: hi, tools, tool_choice: 'auto', reasoning_effort: 'high' });
  t.match(a.seen[1].body, { thinking: { type: 'enabled' } });

  // Tool results answering the assistant's call: that assistant turn must start with a signed
  // thinking block, which an OpenAI client has no way to send. Thinking is off for this step.
  await c.chat.completions.create({
    model: 'm', tools, reasoning_effort: 'high',
    messages: [
      ...hi,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '18C' },
    ],
  });
  t.notOk('thinking' in (a.seen[2].body ?? {}));
  t.equal(a.seen[2].body?.max_tokens, 4096, 'and no budget added');
  // A prefilled assistant message last is the same rule.
  await c.chat.completions.create({ model: 'm', reasoning_effort: 'low', messages: [...hi, { role: 'assistant', content: 'The answer is' }] });
  t.notOk('thinking' in (a.seen[3].body ?? {}));
  // A finished exchange followed by a new user message is a new turn: thinking is on again.
  await c.chat.completions.create({
    model: 'm', tools, reasoning_effort: 'high',
    messages: [
      ...hi,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '18C' },
      { role: 'assistant', content: 'It is 18C.' },
      { role: 'user', content: 'And tomorrow?' },
    ],
  });
  t.match(a.seen[4].body, { thinking: { type: 'enabled', budget_tokens: 16384 } });
});

// ─────────────────────────────── Anthropic thinking → OpenAI client ───────────────────────────────

t.test('Claude thinking reaches an OpenAI chat client as reasoning_content (non-stream and stream)', async (t) => {
  const a = await startFakeAnthropic(claudeThinks);
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = openai(gw.baseURL);

  const r = await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'low' });
  const msg = r.choices[0].message as typeof r.choices[0]['message'] & { reasoning_content?: string };
  t.equal(msg.content, 'Answer.');
  t.equal(msg.reasoning_content, 'Let me think.', 'thinking text; the redacted block and the signature are not readable and are left out');
  t.notMatch(JSON.stringify(r), /EqQBsig|EmwKAhgBEgy/);

  const s = await c.chat.completions.create({ model: 'm', messages: hi, reasoning_effort: 'low', stream: true });
  let reasoning = '';
  let content = '';
  for await (const ch of s) {
    const d = ch.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
    reasoning += d?.reasoning_content ?? '';
    content += d?.content ?? '';
  }
  t.equal(reasoning, 'Let me think.');
  t.equal(content, 'Answer.');
});

t.test('Claude thinking reaches a Responses client as a reasoning item (non-stream and stream)', async (t) => {
  const a = await startFakeAnthropic(claudeThinks);
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = openai(gw.baseURL);
  const reasoningItem = { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Let me think.' }], status: 'completed' };

  const r = await c.responses.create({ model: 'm', input: 'think', reasoning: { effort: 'high' } });
  t.match(r.output, [reasoningItem, { type: 'message', content: [{ type: 'output_text', text: 'Answer.' }] }]);
  t.equal(r.output_text, 'Answer.');

  // The SDK's stream helper accumulates the events into the same Response.
  const events: string[] = [];
  const st = c.responses.stream({ model: 'm', input: 'think', reasoning: { effort: 'high' } });
  st.on('event', (e) => events.push(e.type));
  const final = await st.finalResponse();
  t.match(final.output, [reasoningItem, { type: 'message', content: [{ type: 'output_text', text: 'Answer.' }] }]);
  t.equal(final.output_text, 'Answer.');
  t.same(events, [
    'response.created', 'response.in_progress',
    'response.output_item.added', 'response.content_part.added', 'response.reasoning_text.delta', 'response.reasoning_text.delta',
    'response.reasoning_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done',
    'response.content_part.done', 'response.output_item.done', 'response.completed',
  ]);
});

t.test('reasoning_content from an OpenAI-compatible server reaches a Responses client as a reasoning item', async (t) => {
  const a = await startFakeUpstream(serverReasons('reasoning_content'));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = openai(gw.baseURL);
  const r = await c.responses.create({ model: 'm', input: 'think', reasoning: { effort: 'low' } });
  t.match(r.output, [{ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Let me think.' }] }, { type: 'message' }]);
  t.equal(a.seen[0].body?.reasoning_effort, 'low');
  const final = await c.responses.stream({ model: 'm', input: 'think' }).finalResponse();
  t.match(final.output, [{ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Let me think.' }] }, { type: 'message', content: [{ text: 'Answer.' }] }]);
});

// ─────────────────────────────── Anthropic request → OpenAI reasoning_effort ───────────────────────────────

t.test('Anthropic thinking over an OpenAI-compatible upstream becomes reasoning_effort', async (t) => {
  const a = await startFakeUpstream(serverReasons('reasoning_content'));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = anthropic(gw.url);
  const sent = () => {
    const b = a.seen[a.seen.length - 1].body ?? {};
    return { reasoning_effort: b.reasoning_effort, temperature: b.temperature, top_p: b.top_p };
  };
  await c.messages.create(withSampling({ model: 'm', max_tokens: 16000, messages: hi, thinking: { type: 'enabled', budget_tokens: 10000 }, temperature: 1, top_p: 0.95 }));
  t.same(sent(), { reasoning_effort: 'medium', temperature: undefined, top_p: undefined }, 'OpenAI reasoning models refuse sampling parameters');
  await c.messages.create({ model: 'm', max_tokens: 4000, messages: hi, thinking: { type: 'enabled', budget_tokens: 2000 } });
  t.same(sent(), { reasoning_effort: 'low', temperature: undefined, top_p: undefined });
  await c.messages.create({ model: 'm', max_tokens: 20000, messages: hi, thinking: { type: 'enabled', budget_tokens: 16384 } });
  t.same(sent(), { reasoning_effort: 'high', temperature: undefined, top_p: undefined });
  await c.messages.create({ model: 'm', max_tokens: 20000, messages: hi, thinking: { type: 'adaptive' }, output_config: { effort: 'max' } });
  t.same(sent(), { reasoning_effort: 'high', temperature: undefined, top_p: undefined });
  await c.messages.create({ model: 'm', max_tokens: 20000, messages: hi, thinking: { type: 'adaptive' } });
  t.same(sent(), { reasoning_effort: undefined, temperature: undefined, top_p: undefined }, 'adaptive alone: the upstream decides');
  await c.messages.create(withSampling({ model: 'm', max_tokens: 100, messages: hi, thinking: { type: 'disabled' }, temperature: 0.3 }));
  t.same(sent(), { reasoning_effort: undefined, temperature: 0.3, top_p: undefined });
});

t.test('OpenAI-compatible reasoning reaches an Anthropic client as a thinking block, only when it asked for thinking', async (t) => {
  for (const field of ['reasoning_content', 'reasoning'] as const) {
    const a = await startFakeUpstream(serverReasons(field));
    const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
    t.teardown(async () => { await gw.close(); await a.close(); });
    const c = anthropic(gw.url);
    const thinking = { type: 'enabled' as const, budget_tokens: 2048 };

    const msg = await c.messages.create({ model: 'm', max_tokens: 4096, messages: hi, thinking });
    t.same(msg.content, [{ type: 'thinking', thinking: 'Let me think.', signature: '' }, { type: 'text', text: 'Answer.' }], `${field}: no signature (only Claude can sign)`);
    const streamed = await c.messages.stream({ model: 'm', max_tokens: 4096, messages: hi, thinking }).finalMessage();
    t.same(streamed.content, [{ type: 'thinking', thinking: 'Let me think.', signature: '' }, { type: 'text', text: 'Answer.' }], `${field}, stream`);

    // Claude never sends thinking unasked, and clients read content[0].text.
    const plain = await c.messages.create({ model: 'm', max_tokens: 4096, messages: hi });
    t.same(plain.content, [{ type: 'text', text: 'Answer.' }]);
    const plainStream = await c.messages.stream({ model: 'm', max_tokens: 4096, messages: hi }).finalMessage();
    t.same(plainStream.content, [{ type: 'text', text: 'Answer.' }]);
  }
});

// ─────────────────────────────── multi-turn ───────────────────────────────

/** An upstream as strict as OpenAI about message fields: anything but these is a 400. */
const strictChat: Behaviour = (seen, res, req) => {
  const allowed = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal']);
  const bad = ((seen.body?.messages ?? []) as Record<string, unknown>[]).flatMap((m, i) => Object.keys(m).filter((k) => !allowed.has(k)).map((k) => `messages[${i}].${k}`));
  if (bad.length) return fail(400, { error: { message: `Unrecognized fields: ${bad.join(', ')}`, type: 'invalid_request_error', param: null, code: null } })(seen, res, req);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(chatCompletion(String(seen.body?.model), 'ok')));
};

t.test('an Anthropic client sending thinking blocks back to an OpenAI-compatible target: dropped, no 400', async (t) => {
  // Guard: this was already the behaviour (assistantMessage skips them); kept here next to the rest of the mapping.
  const a = await startFakeUpstream(strictChat);
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const msg = await anthropic(gw.url).messages.create({
    model: 'm', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: [
        { type: 'thinking', thinking: 'Call the tool.', signature: 'EqQBsig' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} },
      ] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' }] },
    ],
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }],
  });
  t.same(msg.content, [{ type: 'text', text: 'ok' }]);
  t.match(a.seen[0].body?.messages, [{ role: 'user' }, { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1' }] }, { role: 'tool', tool_call_id: 'toolu_1', content: '18C' }]);
  t.notMatch(JSON.stringify(a.seen[0].body), /Call the tool|EqQBsig|EmwKAhgBEgy/);
});

t.test('failover: gateway-made (unsigned) thinking blocks are left out before a Claude target, which would 400 on them', async (t) => {
  // Turn 1 is served by the OpenAI-compatible target (its reasoning becomes an unsigned thinking
  // block); on turn 2 that target is down and the Claude target gets the conversation.
  const o = await startFakeUpstream(serverReasons('reasoning_content'));
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }, { kind: 'anthropic', url: a.url }], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await o.close(); await a.close(); });
  const c = anthropic(gw.url);
  const thinking = { type: 'enabled' as const, budget_tokens: 2048 };
  const first = await c.messages.create({ model: 'm', max_tokens: 4096, messages: hi, thinking });
  t.equal(first.content[0].type, 'thinking');

  o.queue(fail(503));
  const history: Anthropic.MessageParam[] = [...hi, { role: 'assistant', content: first.content }, { role: 'user', content: 'and then?' }];
  const { response } = await c.messages.create({ model: 'm', max_tokens: 4096, messages: history, thinking }).withResponse();
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.same(a.seen[0].body?.messages, [
    { role: 'user', content: 'think about it' },
    { role: 'assistant', content: [{ type: 'text', text: 'Answer.' }] },
    { role: 'user', content: 'and then?' },
  ], 'the unsigned block is gone, the text stays');
  t.same(a.seen[0].body?.thinking, thinking, 'a new turn: thinking stays on');

  // Mid tool loop the current turn would be left without its opening thinking block: thinking is off for that request.
  o.queue(fail(503));
  await c.messages.create({
    model: 'm', max_tokens: 4096, thinking,
    messages: [
      ...hi,
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'Call it.', signature: '' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] },
    ],
    tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }],
  });
  t.same((a.seen[1].body?.messages as unknown[] | undefined)?.[1], { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] });
  t.notOk('thinking' in (a.seen[1].body ?? {}));

  // Claude's own signed blocks pass untouched, and so does the body when there is nothing to leave out.
  const signed: Anthropic.MessageParam[] = [
    ...hi,
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'Call it.', signature: 'EqQBsig' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] },
  ];
  o.queue(fail(503));
  await c.messages.create({ model: 'm', max_tokens: 4096, thinking, messages: signed, tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }] });
  t.same(a.seen[2].body?.messages, signed);
  t.same(a.seen[2].body?.thinking, thinking);
});
