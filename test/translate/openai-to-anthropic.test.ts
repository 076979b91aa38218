import t from 'tap';
import OpenAI from 'openai';
import {
  AnthropicStreamToOpenAIChat,
  OPENAI_STREAM_DONE,
  anthropicResponseToOpenAIChat,
  openAIChatRequestToAnthropic,
  serializeOpenAIChunk,
  type OpenAIStreamFrame,
} from '../../core/translate/openai-to-anthropic.js';
import type { AnthropicMessage, OpenAIChatRequest } from '../../core/translate/types.js';

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function openaiClient(body: string, contentType: string): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test',
    baseURL: 'http://gateway.test/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': contentType } }),
  });
}

/** Parse a recorded Anthropic SSE transcript into (event, data) pairs. */
function parseSSE(text: string): Array<[string, Record<string, unknown>]> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
      return [event, JSON.parse(data) as Record<string, unknown>];
    });
}

// ───────────────────────────────────── request ─────────────────────────────────────

t.test('request: agent conversation with tools, images and hoisted system prompts', async (t) => {
  const body: OpenAIChatRequest = {
    model: 'workhorse',
    messages: [
      { role: 'developer', content: 'You are a helpful assistant.' },
      { role: 'system', content: [{ type: 'text', text: 'Answer in English.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: "What's the weather where this photo was taken?" },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}`, detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/paris.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { id: 'call_Kx9Wq2', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', content: '18°C' },
      { role: 'tool', tool_call_id: 'call_Kx9Wq2', content: [{ type: 'text', text: '14:05' }] },
      { role: 'user', content: 'Thanks. And tomorrow?' },
      { role: 'assistant', content: 'Let me look.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking forecast.' }] },
    ],
    tools: [
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, strict: true } },
      { type: 'function', function: { name: 'get_time' } },
    ],
    tool_choice: 'required',
    parallel_tool_calls: false,
    max_completion_tokens: 2048,
    max_tokens: 100,
    temperature: 1.4,
    top_p: 0.5,
    stop: 'END',
    stream: true,
    stream_options: { include_usage: true },
    user: 'user-1234',
    n: 1,
  };
  t.strictSame(openAIChatRequestToAnthropic(body, 'claude-sonnet-4-5'), {
    model: 'claude-sonnet-4-5',
    max_tokens: 2048,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: "What's the weather where this photo was taken?" },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/paris.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_Kx9Wq2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'call_Kx9Wq2', content: '14:05' },
          { type: 'text', text: 'Thanks. And tomorrow?' },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'text', text: 'Checking forecast.' }] },
    ],
    system: [
      { type: 'text', text: 'You are a helpful assistant.' },
      { type: 'text', text: 'Answer in English.' },
    ],
    temperature: 1,
    stop_sequences: ['END'],
    stream: true,
    metadata: { user_id: 'user-1234' },
    tools: [
      { name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, description: 'Weather for a city' },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ],
    tool_choice: { type: 'any', disable_parallel_tool_use: true },
  });
});

t.test('request: defaults, single system string, top_p alone, stop arrays, pdf files', async (t) => {
  const out = openAIChatRequestToAnthropic(
    {
      model: 'x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Summarise' }, { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } }] },
      ],
      top_p: 0.8,
      stop: ['a', 'b'],
    },
    'claude-haiku-4-5',
    8192,
  );
  t.strictSame(out, {
    model: 'claude-haiku-4-5',
    max_tokens: 8192,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise' }, { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' } }] }],
    system: 'Be brief.',
    top_p: 0.8,
    stop_sequences: ['a', 'b'],
  });
  t.equal(openAIChatRequestToAnthropic({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, 'y').max_tokens, 4096);
  t.equal(openAIChatRequestToAnthropic({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 77 }, 'y').max_tokens, 77);
});

t.test('request: tool_choice variants and unsafe tool ids', async (t) => {
  const base: OpenAIChatRequest = { model: 'x', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] };
  const tc = (choice: OpenAIChatRequest['tool_choice'], parallel?: boolean) =>
    openAIChatRequestToAnthropic({ ...base, tool_choice: choice, ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }) }, 'y').tool_choice;
  t.strictSame(tc('auto'), { type: 'auto' });
  t.strictSame(tc('none'), { type: 'none' });
  t.strictSame(tc('required'), { type: 'any' });
  t.strictSame(tc({ type: 'function', function: { name: 'f' } }), { type: 'tool', name: 'f' });
  t.strictSame(tc({ type: 'function', function: { name: 'f' } }, false), { type: 'tool', name: 'f', disable_parallel_tool_use: true });
  t.strictSame(tc(undefined, false), { type: 'auto', disable_parallel_tool_use: true });
  t.equal(tc(undefined), undefined);

  const ids = openAIChatRequestToAnthropic(
    {
      model: 'x',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'chatcmpl-tool.ab:1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'chatcmpl-tool.ab:1', content: 'ok' },
      ],
    },
    'y',
  );
  t.strictSame(ids.messages.slice(1), [
    { role: 'assistant', content: [{ type: 'tool_use', id: 'chatcmpl-tool_ab_1', name: 'f', input: { a: 1 } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'chatcmpl-tool_ab_1', content: 'ok' }] },
  ]);
});

t.test('request: empty user content is dropped so roles still alternate', async (t) => {
  const out = openAIChatRequestToAnthropic(
    { model: 'x', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: '' }, { role: 'user', content: 'b' }] },
    'y',
  );
  t.strictSame(out.messages, [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]);
});

// ───────────────────────────────────── response ─────────────────────────────────────

const toolMessage: AnthropicMessage = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'The user wants weather.', signature: 'EqQBCgIYAh...' },
    { type: 'text', text: "I'll check the weather." },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 2095, output_tokens: 503, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, service_tier: 'standard' },
};

t.test('response: tool use with cache usage, and the OpenAI SDK accepts it', async (t) => {
  const chat = anthropicResponseToOpenAIChat(toolMessage, 'workhorse', 1741570283);
  t.strictSame(chat, {
    id: 'chatcmpl-01Aq9w938a90dw8q',
    object: 'chat.completion',
    created: 1741570283,
    model: 'workhorse',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: "I'll check the weather.",
          refusal: null,
          reasoning_content: 'The user wants weather.',
          tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } }],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 4195, completion_tokens: 503, total_tokens: 4698, prompt_tokens_details: { cached_tokens: 2000 } },
  });
  const parsed = await openaiClient(JSON.stringify(chat), 'application/json').chat.completions.create({ model: 'workhorse', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(parsed.choices[0].finish_reason, 'tool_calls');
  t.equal(parsed.choices[0].message.tool_calls?.[0].id, 'toolu_01A09q90qw90lq917835lq9');
});

t.test('response: stop reasons and tool-only content', async (t) => {
  const finish = (stop_reason: AnthropicMessage['stop_reason']) =>
    anthropicResponseToOpenAIChat({ ...toolMessage, content: [{ type: 'text', text: 'x' }], stop_reason }, 'm', 1).choices[0].finish_reason;
  t.equal(finish('end_turn'), 'stop');
  t.equal(finish('stop_sequence'), 'stop');
  t.equal(finish('pause_turn'), 'stop');
  t.equal(finish('max_tokens'), 'length');
  t.equal(finish('model_context_window_exceeded'), 'length');
  t.equal(finish('tool_use'), 'tool_calls');
  t.equal(finish('refusal'), 'content_filter');
  const toolOnly = anthropicResponseToOpenAIChat({ ...toolMessage, content: [toolMessage.content[2]] }, 'm', 1);
  t.equal(toolOnly.choices[0].message.content, null, 'no text + tool calls → content null');
  t.equal(anthropicResponseToOpenAIChat({ ...toolMessage, content: [], stop_reason: 'end_turn' }, 'm', 1).choices[0].message.content, '');
});

// ───────────────────────────────────── stream ─────────────────────────────────────

// Recorded shape of a Messages stream: text, then a tool call; ping after the first block start.
const RECORDED = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":128,"output_tokens":2,"service_tier":"standard"},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, let's check"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \\"San Francisco, CA\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

`;

const head = { id: 'chatcmpl-014p7gG3wDgGV9EUtLvnow3U', object: 'chat.completion.chunk', created: 1741570283, model: 'workhorse' };
const chunk = (delta: object, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

function translate(sse: string, includeUsage: boolean): OpenAIStreamFrame[] {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel: 'workhorse', includeUsage, created: 1741570283 });
  return [...parseSSE(sse).flatMap(([ev, data]) => tr.push(ev, data)), ...tr.end()];
}

t.test('stream: recorded text + tool_use stream → exact chunk sequence with usage', async (t) => {
  t.strictSame(translate(RECORDED, true), [
    chunk({ role: 'assistant', content: '' }),
    chunk({ content: "Okay, let's check" }),
    chunk({ content: ' the weather.' }),
    chunk({ tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ' "San Francisco, CA"}' } }] }),
    chunk({}, 'tool_calls'),
    { ...head, choices: [], usage: { prompt_tokens: 600, completion_tokens: 89, total_tokens: 689, prompt_tokens_details: { cached_tokens: 128 } } },
  ]);
});

t.test('stream: without include_usage there is no usage chunk', async (t) => {
  const frames = translate(RECORDED, false);
  t.equal(frames.length, 7);
  t.strictSame(frames.at(-1), chunk({}, 'tool_calls'));
});

t.test('stream: the OpenAI SDK assembles the translated stream', async (t) => {
  const sse = translate(RECORDED, true).map(serializeOpenAIChunk).join('') + OPENAI_STREAM_DONE;
  const stream = openaiClient(sse, 'text/event-stream').chat.completions.stream({
    model: 'workhorse',
    messages: [{ role: 'user', content: 'weather?' }],
    stream_options: { include_usage: true },
  });
  const done = await stream.finalChatCompletion();
  t.equal(done.choices[0].message.content, "Okay, let's check the weather.");
  t.equal(done.choices[0].finish_reason, 'tool_calls');
  t.same(done.choices[0].message.tool_calls, [
    { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' } },
  ]);
  t.same(done.usage, { prompt_tokens: 600, completion_tokens: 89, total_tokens: 689, prompt_tokens_details: { cached_tokens: 128 } });
});

t.test('stream: parallel tool calls get consecutive tool indexes', async (t) => {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel: 'm', id: 'chatcmpl-x', created: 1 });
  const frames = [
    tr.push('message_start', { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 10, output_tokens: 1 } } }),
    tr.push('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
    tr.push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
    tr.push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'Eq..' } }),
    tr.push('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_a', name: 'a', input: {} } }),
    tr.push('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{}' } }),
    tr.push('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_b', name: 'b', input: {} } }),
    tr.push('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"q":1}' } }),
  ].flat();
  t.same(
    frames.map((f) => ('choices' in f ? f.choices[0].delta : f)),
    [
      { role: 'assistant', content: '' },
      { reasoning_content: 'hmm' },
      { tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'a', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{}' } }] },
      { tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'b', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{"q":1}' } }] },
    ],
  );
  t.equal(frames[0] && 'id' in frames[0] ? frames[0].id : '', 'chatcmpl-x');
});

t.test('stream: max_tokens stop and a stream cut before message_delta', async (t) => {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel: 'm', created: 1 });
  tr.push('message_start', { type: 'message_start', message: { id: 'msg_2', usage: { input_tokens: 3, output_tokens: 1 } } });
  t.strictSame(tr.push('message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 16 } }).map((f) => ('choices' in f ? f.choices[0].finish_reason : null)), ['length']);
  const cut = new AnthropicStreamToOpenAIChat({ publicModel: 'm', created: 1, includeUsage: true });
  cut.push('message_start', { type: 'message_start', message: { id: 'msg_3', usage: { input_tokens: 3, output_tokens: 1 } } });
  cut.push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } });
  const tail = cut.end();
  t.match(tail, [{ choices: [{ finish_reason: 'stop' }] }, { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } }]);
  t.strictSame(cut.end(), []);
});

t.test('stream: upstream error event becomes an OpenAI error frame; nothing after it', async (t) => {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel: 'm', created: 1 });
  tr.push('message_start', { type: 'message_start', message: { id: 'msg_4', usage: { input_tokens: 3, output_tokens: 1 } } });
  t.strictSame(tr.push('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), [
    { error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } },
  ]);
  t.strictSame(tr.push('message_stop', { type: 'message_stop' }), []);
  t.strictSame(tr.end(), []);
  t.equal(serializeOpenAIChunk({ error: { message: 'x', type: 'server_error', param: null, code: null } }), 'data: {"error":{"message":"x","type":"server_error","param":null,"code":null}}\n\n');
});

t.test('stream: the event name is enough when data lacks a type', async (t) => {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel: 'm', created: 1, id: 'chatcmpl-y' });
  t.strictSame(tr.push('ping', {}), []);
  t.match(tr.push('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }), [{ choices: [{ delta: { role: 'assistant' } }] }, { choices: [{ delta: { content: 'x' } }] }]);
});
