import t from 'tap';
import OpenAI from 'openai';
import {
  ChatStreamToResponses,
  chatResponseToResponses,
  responsesRequestToChat,
  serializeResponsesEvent,
} from '../../core/translate/responses-to-chat.js';
import type { OpenAIChatChunk, OpenAIChatResponse, ResponsesRequest, ResponsesStreamEvent } from '../../core/translate/types.js';

function openaiClient(body: string, contentType: string): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test',
    baseURL: 'http://gateway.test/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': contentType } }),
  });
}

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Get current temperature for a given location.',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'], additionalProperties: false },
  strict: true,
};

// ───────────────────────────────────── request ─────────────────────────────────────

t.test('request: string input with instructions', async (t) => {
  t.strictSame(responsesRequestToChat({ model: 'gpt-4.1', instructions: 'Talk like a pirate.', input: 'Are semicolons optional in JavaScript?' }, 'llama3.1:8b'), {
    model: 'llama3.1:8b',
    messages: [
      { role: 'system', content: 'Talk like a pirate.' },
      { role: 'user', content: 'Are semicolons optional in JavaScript?' },
    ],
  });
});

t.test('request: Codex-style item list with images, parallel calls and outputs', async (t) => {
  const body: ResponsesRequest = {
    model: 'workhorse',
    instructions: 'You are a coding agent.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<environment_context>cwd=/repo</environment_context>' }] },
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'What is the weather in these two places?' },
          { type: 'input_image', image_url: 'https://example.com/a.jpg', detail: 'low' },
          { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
        ],
      },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
      { type: 'function_call', id: 'fc_67ca09c6bedc8190', call_id: 'call_unLAR8MvFNptuiZK6K6HCy5k', name: 'get_weather', arguments: '{"location":"Paris, France"}' },
      { type: 'function_call', id: 'fc_67ca09c6bedc8191', call_id: 'call_2', name: 'get_weather', arguments: '{"location":"Bogotá, Colombia"}' },
      { type: 'function_call_output', call_id: 'call_unLAR8MvFNptuiZK6K6HCy5k', output: '{"temperature": 14}' },
      { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '{"temperature": 19}' }] },
      { type: 'function_call', call_id: 'call_3', name: 'get_weather', arguments: '{"location":"Oslo"}' },
      { type: 'function_call_output', call_id: 'call_3', output: '{"temperature": 2}' },
      { type: 'reasoning', id: 'rs_1', summary: [] } as unknown as ResponsesRequest['input'] extends (infer I)[] | string | undefined ? I : never,
    ],
    tools: [weatherTool, { type: 'web_search_preview' }],
    tool_choice: { type: 'function', name: 'get_weather' },
    parallel_tool_calls: true,
    max_output_tokens: 1024,
    temperature: 0.2,
    top_p: 1,
    reasoning: { effort: 'low' },
    text: { format: { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true } },
    store: false,
    stream: true,
    user: 'u-1',
  };
  t.strictSame(responsesRequestToChat(body, 'gpt-4o-mini'), {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'system', content: '<environment_context>cwd=/repo</environment_context>' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is the weather in these two places?' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.jpg', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_unLAR8MvFNptuiZK6K6HCy5k', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Bogotá, Colombia"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_unLAR8MvFNptuiZK6K6HCy5k', content: '{"temperature": 14}' },
      { role: 'tool', tool_call_id: 'call_2', content: '{"temperature": 19}' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_3', content: '{"temperature": 2}' },
    ],
    max_tokens: 1024,
    temperature: 0.2,
    top_p: 1,
    user: 'u-1',
    reasoning_effort: 'low',
    response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: { type: 'object' }, strict: true } },
    stream: true,
    stream_options: { include_usage: true },
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get current temperature for a given location.', parameters: weatherTool.parameters, strict: true } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: true,
  });
});

t.test('request: single input_text part collapses to a string; json_object format', async (t) => {
  const out = responsesRequestToChat(
    { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], text: { format: { type: 'json_object' } }, tools: [{ type: 'file_search', vector_store_ids: [] }], tool_choice: 'required' },
    'x',
  );
  t.strictSame(out, { model: 'x', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } });
  const o1 = responsesRequestToChat({ model: 'm', input: 'hi', max_output_tokens: 99 }, 'o3-mini', { maxTokensField: 'max_completion_tokens' });
  t.equal(o1.max_completion_tokens, 99);
  t.notOk('max_tokens' in o1);
});

// ───────────────────────────────────── response ─────────────────────────────────────

const chatWithTools: OpenAIChatResponse = {
  id: 'chatcmpl-C1x8ZvQz',
  object: 'chat.completion',
  created: 1741476542,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Checking.',
        refusal: null,
        tool_calls: [{ id: 'call_12345xyz', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } }],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 81, completion_tokens: 15, total_tokens: 96, prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 0 } },
};

t.test('response: message + function_call items, usage, echo of request fields', async (t) => {
  const r = chatResponseToResponses(chatWithTools, 'workhorse', { model: 'workhorse', tools: [weatherTool], instructions: 'Be helpful.', max_output_tokens: 500 });
  t.strictSame(r.output, [
    { type: 'message', id: 'msg_C1x8ZvQz', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] }] },
    { type: 'function_call', id: 'fc_call_12345xyz', call_id: 'call_12345xyz', name: 'get_weather', arguments: '{"location":"Paris, France"}', status: 'completed' },
  ]);
  t.match(r, {
    id: 'resp_C1x8ZvQz',
    object: 'response',
    created_at: 1741476542,
    status: 'completed',
    error: null,
    incomplete_details: null,
    model: 'workhorse',
    instructions: 'Be helpful.',
    max_output_tokens: 500,
    tools: [weatherTool],
    usage: { input_tokens: 81, input_tokens_details: { cached_tokens: 64 }, output_tokens: 15, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 96 },
  });

  const parsed = await openaiClient(JSON.stringify(r), 'application/json').responses.create({ model: 'workhorse', input: 'hi' });
  t.equal(parsed.output_text, 'Checking.', 'SDK derives output_text from the output items');
  t.equal(parsed.output[1].type, 'function_call');
});

t.test('response: length → incomplete, refusal part, missing usage', async (t) => {
  const r = chatResponseToResponses(
    { ...chatWithTools, usage: undefined, choices: [{ index: 0, message: { role: 'assistant', content: 'Once upon a', refusal: null }, finish_reason: 'length' }] },
    'm',
  );
  t.equal(r.status, 'incomplete');
  t.strictSame(r.incomplete_details, { reason: 'max_output_tokens' });
  t.match(r.output, [{ type: 'message', status: 'incomplete' }]);
  t.strictSame(r.usage, { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 });
  const refused = chatResponseToResponses({ ...chatWithTools, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't assist." }, finish_reason: 'stop' }] }, 'm');
  t.strictSame(refused.output[0], { type: 'message', id: 'msg_C1x8ZvQz', status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: "I can't assist." }] });
  const filtered = chatResponseToResponses({ ...chatWithTools, choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }] }, 'm');
  t.strictSame(filtered.incomplete_details, { reason: 'content_filter' });
  t.strictSame(filtered.output, []);
});

// ───────────────────────────────────── stream ─────────────────────────────────────

const head = { id: 'chatcmpl-B9MBs8Cj', object: 'chat.completion.chunk' as const, created: 1741570283, model: 'gpt-4o-mini', system_fingerprint: 'fp_06737a9306' };
const c = (delta: OpenAIChatChunk['choices'][number]['delta'], finish: OpenAIChatChunk['choices'][number]['finish_reason'] = null): OpenAIChatChunk =>
  ({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });
const usage = (p: number, o: number): OpenAIChatChunk => ({ ...head, choices: [], usage: { prompt_tokens: p, completion_tokens: o, total_tokens: p + o } });

function run(chunks: OpenAIChatChunk[]): ResponsesStreamEvent[] {
  const tr = new ChatStreamToResponses({ publicModel: 'workhorse', request: { model: 'workhorse', tools: [weatherTool] } });
  return [...chunks.flatMap((ch) => tr.push(ch)), ...tr.end()];
}

/** Drop the bulky response envelopes so sequences read as a list of events. */
const brief = (evs: ResponsesStreamEvent[]) => evs.map((e) => ('response' in e ? { type: e.type, sequence_number: e.sequence_number, status: e.response.status } : e));

t.test('stream: text, exact Responses event sequence', async (t) => {
  const evs = run([c({ role: 'assistant', content: '' }), c({ content: 'Hi' }), c({ content: ' there!' }), c({}, 'stop'), usage(12, 3)]);
  const ref = { item_id: 'msg_B9MBs8Cj', output_index: 0, content_index: 0 };
  t.strictSame(brief(evs), [
    { type: 'response.created', sequence_number: 0, status: 'in_progress' },
    { type: 'response.in_progress', sequence_number: 1, status: 'in_progress' },
    { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { type: 'message', id: 'msg_B9MBs8Cj', status: 'in_progress', role: 'assistant', content: [] } },
    { type: 'response.content_part.added', sequence_number: 3, ...ref, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } },
    { type: 'response.output_text.delta', sequence_number: 4, ...ref, delta: 'Hi', logprobs: [] },
    { type: 'response.output_text.delta', sequence_number: 5, ...ref, delta: ' there!', logprobs: [] },
    { type: 'response.output_text.done', sequence_number: 6, ...ref, text: 'Hi there!', logprobs: [] },
    { type: 'response.content_part.done', sequence_number: 7, ...ref, part: { type: 'output_text', text: 'Hi there!', annotations: [], logprobs: [] } },
    {
      type: 'response.output_item.done',
      sequence_number: 8,
      output_index: 0,
      item: { type: 'message', id: 'msg_B9MBs8Cj', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there!', annotations: [], logprobs: [] }] },
    },
    { type: 'response.completed', sequence_number: 9, status: 'completed' },
  ]);
  const created = evs[0];
  t.match(created, { response: { id: 'resp_B9MBs8Cj', object: 'response', model: 'workhorse', output: [], usage: null, tools: [weatherTool] } });
  t.match(evs.at(-1), { response: { status: 'completed', output: [{ type: 'message' }], usage: { input_tokens: 12, output_tokens: 3, total_tokens: 15 } } });
});

const toolChunks = [
  c({ role: 'assistant', content: null }),
  c({ tool_calls: [{ index: 0, id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  c({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
  c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  c({ tool_calls: [{ index: 1, id: 'call_B', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Oslo"}' } }] }),
  c({}, 'tool_calls'),
  usage(40, 30),
];

t.test('stream: parallel function calls, exact event sequence', async (t) => {
  const evs = run(toolChunks);
  const fc = (id: string, args: string, status: string) => ({ type: 'function_call', id: `fc_${id}`, call_id: id, name: 'get_weather', arguments: args, status });
  t.strictSame(brief(evs).slice(2), [
    { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: fc('call_A', '', 'in_progress') },
    { type: 'response.function_call_arguments.delta', sequence_number: 3, item_id: 'fc_call_A', output_index: 0, delta: '{"location":' },
    { type: 'response.function_call_arguments.delta', sequence_number: 4, item_id: 'fc_call_A', output_index: 0, delta: '"Paris"}' },
    { type: 'response.function_call_arguments.done', sequence_number: 5, item_id: 'fc_call_A', output_index: 0, arguments: '{"location":"Paris"}', name: 'get_weather' },
    { type: 'response.output_item.done', sequence_number: 6, output_index: 0, item: fc('call_A', '{"location":"Paris"}', 'completed') },
    { type: 'response.output_item.added', sequence_number: 7, output_index: 1, item: fc('call_B', '', 'in_progress') },
    { type: 'response.function_call_arguments.delta', sequence_number: 8, item_id: 'fc_call_B', output_index: 1, delta: '{"location":"Oslo"}' },
    { type: 'response.function_call_arguments.done', sequence_number: 9, item_id: 'fc_call_B', output_index: 1, arguments: '{"location":"Oslo"}', name: 'get_weather' },
    { type: 'response.output_item.done', sequence_number: 10, output_index: 1, item: fc('call_B', '{"location":"Oslo"}', 'completed') },
    { type: 'response.completed', sequence_number: 11, status: 'completed' },
  ]);
  t.match(evs.at(-1), { response: { output: [fc('call_A', '{"location":"Paris"}', 'completed'), fc('call_B', '{"location":"Oslo"}', 'completed')] } });
});

t.test('stream: the OpenAI SDK ResponseStream assembles text followed by a call', async (t) => {
  const evs = run([c({ role: 'assistant', content: 'Let me check. ' }), ...toolChunks.slice(1)]);
  const sse = evs.map(serializeResponsesEvent).join('');
  const stream = openaiClient(sse, 'text/event-stream').responses.stream({ model: 'workhorse', input: 'weather?' });
  const deltas: string[] = [];
  stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
  const final = await stream.finalResponse();
  t.strictSame(deltas, ['Let me check. ']);
  t.equal(final.output_text, 'Let me check. ');
  t.equal(final.status, 'completed');
  t.same(
    final.output.map((o) => (o.type === 'function_call' ? [o.call_id, o.arguments] : [o.type])),
    [['message'], ['call_A', '{"location":"Paris"}'], ['call_B', '{"location":"Oslo"}']],
  );
  t.same(final.usage, { input_tokens: 40, input_tokens_details: { cached_tokens: 0 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 70 });
  const seqs = evs.map((e) => e.sequence_number);
  t.strictSame(seqs, seqs.map((_, i) => i), 'sequence numbers are contiguous from 0');
});

t.test('stream: length finish → response.incomplete; usage missing → completes at end()', async (t) => {
  const tr = new ChatStreamToResponses({ publicModel: 'm', id: 'resp_fixed', createdAt: 5 });
  tr.push(c({ role: 'assistant', content: 'Once' }));
  t.strictSame(tr.push(c({}, 'length')).map((e) => e.type), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done']);
  const tail = tr.end();
  t.match(tail, [{ type: 'response.incomplete', response: { id: 'resp_fixed', created_at: 5, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ status: 'incomplete' }] } }]);
  t.strictSame(tr.end(), []);
});

t.test('stream: running usage on every chunk; the trailing usage is the one reported', async (t) => {
  const running = (ch: OpenAIChatChunk, p: number, o: number): OpenAIChatChunk => ({ ...ch, usage: { prompt_tokens: p, completion_tokens: o, total_tokens: p + o } });
  const tr = new ChatStreamToResponses({ publicModel: 'm' });
  tr.push(running(c({ role: 'assistant', content: 'A' }), 9, 1));
  t.notOk(tr.push(c({}, 'stop')).some((e) => e.type === 'response.completed'));
  t.match(tr.push(usage(9, 4)), [{ type: 'response.completed', response: { usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 } } }]);
});

t.test('stream: refusal deltas become a refusal content part', async (t) => {
  const evs = run([c({ role: 'assistant', content: null, refusal: '' }), c({ refusal: "I'm sorry" }), c({}, 'stop'), usage(1, 1)]);
  t.strictSame(evs.slice(2, -1).map((e) => e.type), [
    'response.output_item.added',
    'response.content_part.added',
    'response.refusal.delta',
    'response.refusal.done',
    'response.content_part.done',
    'response.output_item.done',
  ]);
  t.match(evs.at(-1), { response: { output: [{ content: [{ type: 'refusal', refusal: "I'm sorry" }] }] } });
});

t.test('stream: error() mid-stream ends with error + response.failed and the SDK surfaces it', async (t) => {
  const tr = new ChatStreamToResponses({ publicModel: 'm', id: 'resp_e' });
  const evs = [...tr.push(c({ role: 'assistant', content: 'partial' })), ...tr.error('upstream connection reset')];
  t.match(evs.slice(-2), [
    { type: 'error', code: 'server_error', message: 'upstream connection reset', param: null },
    { type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'upstream connection reset' } } },
  ]);
  t.strictSame(tr.end(), []);
  t.strictSame(tr.push(c({ content: 'more' })), []);
  // The SDK's ResponseStream turns an `error` event into a rejection carrying its message.
  const stream = openaiClient(evs.map(serializeResponsesEvent).join(''), 'text/event-stream').responses.stream({ model: 'm', input: 'x' });
  await t.rejects(stream.finalResponse(), { message: /upstream connection reset/ });
  // A raw (non-helper) consumer sees both frames and can read the terminal state.
  const raw = await openaiClient(evs.map(serializeResponsesEvent).join(''), 'text/event-stream').responses.create({ model: 'm', input: 'x', stream: true });
  const types: string[] = [];
  for await (const e of raw) types.push(e.type);
  t.strictSame(types.slice(-2), ['error', 'response.failed']);
});

t.test('serializeResponsesEvent: SSE framing', async (t) => {
  t.equal(
    serializeResponsesEvent({ type: 'response.output_text.delta', sequence_number: 4, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [] }),
    'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}\n\n',
  );
});
