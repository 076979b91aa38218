import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import {
  OpenAIChatStreamToAnthropic,
  anthropicRequestToOpenAIChat,
  openAIChatResponseToAnthropic,
  serializeAnthropicEvent,
} from '../../core/translate/anthropic-to-openai.js';
import type {
  AnthropicEvent,
  AnthropicMessagesRequest,
  OpenAIChatChunk,
  OpenAIChatResponse,
} from '../../core/translate/types.js';

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** An Anthropic SDK client whose HTTP layer answers with a canned body. */
function anthropicClient(body: string, contentType: string): Anthropic {
  return new Anthropic({
    apiKey: 'sk-ant-test',
    baseURL: 'http://gateway.test',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': contentType } }),
  });
}

// ───────────────────────────────────── request ─────────────────────────────────────

t.test('request: Claude Code-style multi-turn conversation with tools', async (t) => {
  const body: AnthropicMessagesRequest = {
    model: 'claude-sonnet-4-5',
    max_tokens: 32000,
    system: [
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Be concise.' },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>ctx</system-reminder>' }, { type: 'text', text: 'What is the weather in Paris and Tokyo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I should call the tool twice.', signature: 'EqQBCgIYAhIM...' },
          { type: 'text', text: "I'll check both cities." },
          { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'Paris', unit: 'celsius' } },
          { type: 'tool_use', id: 'toolu_01B19q90qw90lq917835lq8', name: 'get_weather', input: { location: 'Tokyo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '18°C, cloudy' },
          {
            type: 'tool_result',
            tool_use_id: 'toolu_01B19q90qw90lq917835lq8',
            is_error: true,
            content: [{ type: 'text', text: 'upstream timeout' }],
          },
          { type: 'text', text: 'Retry Tokyo please.' },
        ],
      },
    ],
    tools: [
      {
        name: 'get_weather',
        description: 'Get the current weather in a given location',
        input_schema: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
        cache_control: { type: 'ephemeral' },
      },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
    ],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    stop_sequences: ['\n\nHuman:'],
    temperature: 0.7,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'user_2d1f' },
    stream: true,
  };

  t.strictSame(anthropicRequestToOpenAIChat(body, 'gpt-4o-mini'), {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are Claude Code.\n\nBe concise.' },
      { role: 'user', content: '<system-reminder>ctx</system-reminder>\n\nWhat is the weather in Paris and Tokyo?' },
      {
        role: 'assistant',
        content: "I'll check both cities.",
        tool_calls: [
          { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris","unit":"celsius"}' } },
          { id: 'toolu_01B19q90qw90lq917835lq8', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Tokyo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '18°C, cloudy' },
      { role: 'tool', tool_call_id: 'toolu_01B19q90qw90lq917835lq8', content: 'Error: upstream timeout' },
      { role: 'user', content: 'Retry Tokyo please.' },
    ],
    max_tokens: 32000,
    temperature: 0.7,
    top_p: 0.9,
    stop: ['\n\nHuman:'],
    stream: true,
    stream_options: { include_usage: true },
    user: 'user_2d1f',
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
          description: 'Get the current weather in a given location',
        },
      },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: false,
  });
});

t.test('request: images (base64 + url), documents, tool-result images', async (t) => {
  const out = anthropicRequestToOpenAIChat(
    {
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'Describe images.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
            { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/cat.jpg' } },
            { type: 'image', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' }, title: 'report.pdf' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain doc' } },
            { type: 'text', text: 'What is in these?' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} }] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'captured' }, { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } }] }],
        },
      ],
    },
    'gpt-4o',
    { maxTokensField: 'max_completion_tokens' },
  );
  t.strictSame(out.messages, [
    { role: 'system', content: 'Describe images.' },
    {
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
        { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/cat.jpg' } },
        { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQK' } },
        { type: 'text', text: 'plain doc' },
        { type: 'text', text: 'What is in these?' },
      ],
    },
    { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'toolu_1', content: 'captured' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }] },
  ]);
  t.equal(out.max_completion_tokens, 1024);
  t.notOk('max_tokens' in out);
  t.notOk('stream' in out, 'non-streaming request stays non-streaming');
});

t.test('request: tool_choice variants', async (t) => {
  const base: AnthropicMessagesRequest = {
    model: 'm',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'hi' }],
    tools: [{ name: 'f', input_schema: { type: 'object' } }],
  };
  const choice = (tc: AnthropicMessagesRequest['tool_choice']) => anthropicRequestToOpenAIChat({ ...base, tool_choice: tc }, 'x');
  t.equal(choice({ type: 'any' }).tool_choice, 'required');
  t.equal(choice({ type: 'none' }).tool_choice, 'none');
  t.strictSame(choice({ type: 'tool', name: 'f' }).tool_choice, { type: 'function', function: { name: 'f' } });
  t.notOk('tool_choice' in choice(undefined));
  t.notOk('parallel_tool_calls' in choice({ type: 'auto' }));
  const noTools = anthropicRequestToOpenAIChat({ ...base, tools: [], tool_choice: { type: 'any' } }, 'x');
  t.notOk('tools' in noTools, 'no tools, no tool_choice');
  t.notOk('tool_choice' in noTools);
  t.strictSame(noTools.messages, [{ role: 'user', content: 'hi' }]);
});

// ───────────────────────────────────── response ─────────────────────────────────────

const chatText: OpenAIChatResponse = {
  id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  object: 'chat.completion',
  created: 1741570283,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The image shows a wooden boardwalk.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 1117,
    completion_tokens: 46,
    total_tokens: 1163,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
  system_fingerprint: 'fp_fc9f1d7035',
};

t.test('response: text with cached prompt tokens', async (t) => {
  t.strictSame(openAIChatResponseToAnthropic(chatText, 'workhorse'), {
    id: 'msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
    type: 'message',
    role: 'assistant',
    model: 'workhorse',
    content: [{ type: 'text', text: 'The image shows a wooden boardwalk.' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 93, output_tokens: 46, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 },
  });
});

t.test('response: tool calls, parsed arguments, and the SDK accepts it', async (t) => {
  const resp: OpenAIChatResponse = {
    id: 'chatcmpl-abc123',
    object: 'chat.completion',
    created: 1741570283,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '{"location": "Paris"}' } },
            { id: 'call_ABCD', type: 'function', function: { name: 'broken', arguments: '{"location": "Par' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99 },
  };
  const msg = openAIChatResponseToAnthropic(resp, 'workhorse');
  t.strictSame(msg.content, [
    { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { location: 'Paris' } },
    { type: 'tool_use', id: 'call_ABCD', name: 'broken', input: { _raw_arguments: '{"location": "Par' } },
  ]);
  t.equal(msg.stop_reason, 'tool_use');
  t.strictSame(msg.usage, { input_tokens: 82, output_tokens: 17, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });

  const client = anthropicClient(JSON.stringify(msg), 'application/json');
  const parsed = await client.messages.create({ model: 'workhorse', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(parsed.stop_reason, 'tool_use');
  t.same(parsed.content[0], { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { location: 'Paris' } });
});

t.test('response: stop reasons', async (t) => {
  const withFinish = (finish: OpenAIChatResponse['choices'][number]['finish_reason'], extra: Partial<OpenAIChatResponse['choices'][number]['message']> = {}) =>
    openAIChatResponseToAnthropic({ ...chatText, choices: [{ index: 0, message: { role: 'assistant', content: 'x', ...extra }, finish_reason: finish }] }, 'm').stop_reason;
  t.equal(withFinish('stop'), 'end_turn');
  t.equal(withFinish('length'), 'max_tokens');
  t.equal(withFinish('tool_calls'), 'tool_use');
  t.equal(withFinish('function_call'), 'tool_use');
  t.equal(withFinish('content_filter'), 'refusal');
  t.equal(withFinish(null), 'end_turn');
  // Ollama reports 'stop' alongside tool calls; Anthropic clients need tool_use to continue.
  t.equal(withFinish('stop', { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }), 'tool_use');
  t.equal(withFinish('stop', { content: null, refusal: "I can't help with that." }), 'refusal');
  const refusal = openAIChatResponseToAnthropic({ ...chatText, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'No.' }, finish_reason: 'stop' }] }, 'm');
  t.strictSame(refusal.content, [{ type: 'text', text: 'No.' }]);
  const noUsage = openAIChatResponseToAnthropic({ ...chatText, usage: undefined }, 'm');
  t.strictSame(noUsage.usage, { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
});

// ───────────────────────────────────── stream ─────────────────────────────────────

const ID = 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT';
const head = { id: ID, object: 'chat.completion.chunk' as const, created: 1741570283, model: 'gpt-4o-mini-2024-07-18', service_tier: 'default', system_fingerprint: 'fp_06737a9306' };
const c = (delta: OpenAIChatChunk['choices'][number]['delta'], finish: OpenAIChatChunk['choices'][number]['finish_reason'] = null): OpenAIChatChunk =>
  ({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });
const usageChunk = (prompt: number, completion: number): OpenAIChatChunk => ({
  ...head,
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
});

function run(chunks: OpenAIChatChunk[], opts = { publicModel: 'workhorse' }): { events: AnthropicEvent[]; perChunk: AnthropicEvent[][] } {
  const tr = new OpenAIChatStreamToAnthropic(opts);
  const perChunk = chunks.map((ch) => tr.push(ch));
  perChunk.push(tr.end());
  return { events: perChunk.flat(), perChunk };
}

const messageStart: AnthropicEvent = {
  type: 'message_start',
  message: {
    id: 'msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    type: 'message',
    role: 'assistant',
    model: 'workhorse',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  },
};

t.test('stream: text with trailing usage chunk, exact events per chunk', async (t) => {
  const { perChunk } = run([
    c({ role: 'assistant', content: '', refusal: null }),
    c({ content: 'Hello' }),
    c({ content: '! How can I help?' }),
    c({}, 'stop'),
    usageChunk(19, 10),
  ]);
  t.strictSame(perChunk, [
    [messageStart],
    [
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
    ],
    [{ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '! How can I help?' } }],
    [{ type: 'content_block_stop', index: 0 }],
    [
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 19, output_tokens: 10, cache_read_input_tokens: 0 } },
      { type: 'message_stop' },
    ],
    [],
  ]);
});

const toolChunks: OpenAIChatChunk[] = [
  c({ role: 'assistant', content: null, refusal: null }),
  c({ content: 'Checking both.' }),
  c({ tool_calls: [{ index: 0, id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  c({ tool_calls: [{ index: 0, function: { arguments: '{"loc' } }] }),
  c({ tool_calls: [{ index: 0, function: { arguments: 'ation": "Paris"}' } }] }),
  c({ tool_calls: [{ index: 1, id: 'call_Kx9Wq2', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  c({ tool_calls: [{ index: 1, function: { arguments: '{"location": "Tokyo"}' } }] }),
  c({}, 'tool_calls'),
  usageChunk(82, 48),
];

t.test('stream: text then two parallel tool calls, exact event sequence', async (t) => {
  const { events } = run(toolChunks);
  t.strictSame(events, [
    messageStart,
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking both.' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: {} } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"loc' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'ation": "Paris"}' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_Kx9Wq2', name: 'get_weather', input: {} } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"location": "Tokyo"}' } },
    { type: 'content_block_stop', index: 2 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 82, output_tokens: 48, cache_read_input_tokens: 0 } },
    { type: 'message_stop' },
  ]);
});

t.test('stream: the Anthropic SDK assembles the translated stream', async (t) => {
  const { events } = run(toolChunks);
  const client = anthropicClient(events.map(serializeAnthropicEvent).join(''), 'text/event-stream');
  const stream = client.messages.stream({ model: 'workhorse', max_tokens: 1024, messages: [{ role: 'user', content: 'weather?' }] });
  const textDeltas: string[] = [];
  stream.on('text', (d) => textDeltas.push(d));
  const msg = await stream.finalMessage();
  t.strictSame(textDeltas, ['Checking both.']);
  t.equal(msg.stop_reason, 'tool_use');
  t.equal(msg.model, 'workhorse');
  t.same(msg.content, [
    { type: 'text', text: 'Checking both.' },
    { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { location: 'Paris' } },
    { type: 'tool_use', id: 'call_Kx9Wq2', name: 'get_weather', input: { location: 'Tokyo' } },
  ]);
  t.equal(msg.usage.input_tokens, 82, 'message_delta corrects the message_start estimate');
  t.equal(msg.usage.output_tokens, 48);
});

t.test('stream: usage on the finish chunk, no trailing chunk', async (t) => {
  const finishWithUsage = { ...c({}, 'length'), usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } };
  const { perChunk } = run([c({ role: 'assistant', content: 'Once upon' }), finishWithUsage]);
  t.strictSame(perChunk[1], [
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 0 } },
    { type: 'message_stop' },
  ]);
  t.strictSame(perChunk[2], [], 'end() after completion adds nothing');
});

t.test('stream: running usage on every chunk does not end the message early', async (t) => {
  const running = (ch: OpenAIChatChunk, p: number, o: number): OpenAIChatChunk => ({ ...ch, usage: { prompt_tokens: p, completion_tokens: o, total_tokens: p + o } });
  const { perChunk } = run([running(c({ role: 'assistant', content: 'A' }), 9, 1), running(c({ content: 'B' }), 9, 2), c({}, 'stop'), usageChunk(9, 3)]);
  t.strictSame(perChunk[2], [{ type: 'content_block_stop', index: 0 }], 'finish without fresh usage waits');
  t.match(perChunk[3], [{ type: 'message_delta', usage: { input_tokens: 9, output_tokens: 3 } }, { type: 'message_stop' }]);
});

t.test('stream: upstream without usage ends at end(), with the input estimate in message_start', async (t) => {
  const tr = new OpenAIChatStreamToAnthropic({ publicModel: 'local', id: 'msg_fixed', estimatedInputTokens: 321 });
  const first = tr.push(c({ role: 'assistant', content: 'Hi' }));
  t.match(first[0], { type: 'message_start', message: { id: 'msg_fixed', usage: { input_tokens: 321, output_tokens: 0 } } });
  t.strictSame(tr.push(c({}, 'stop')), [{ type: 'content_block_stop', index: 0 }]);
  t.strictSame(tr.end(), [
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 0 } },
    { type: 'message_stop' },
  ]);
  t.strictSame(tr.end(), [], 'end() is idempotent');
  t.strictSame(tr.push(c({ content: 'late' })), [], 'nothing after the end');
});

t.test('stream: Gemini-style parallel calls that repeat index 0 and arrive whole', async (t) => {
  const { events } = run([
    c({ role: 'assistant', tool_calls: [{ index: 0, id: 'function-call-1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }] }),
    c({ tool_calls: [{ index: 0, id: 'function-call-2', type: 'function', function: { name: 'b', arguments: '{"y":2}' } }] }),
    c({}, 'stop'),
  ]);
  t.strictSame(events.slice(1), [
    { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'function-call-1', name: 'a', input: {} } },
    { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'function-call-2', name: 'b', input: {} } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"y":2}' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 0 } },
    { type: 'message_stop' },
  ]);
});

t.test('stream: tool call ids are made Anthropic-safe, missing ids are generated', async (t) => {
  const { events } = run([
    c({ role: 'assistant', tool_calls: [{ index: 0, id: 'chatcmpl-tool.7f:3', type: 'function', function: { name: 'a', arguments: '' } }] }),
    c({ tool_calls: [{ index: 1, type: 'function', function: { name: 'b', arguments: '{}' } }] }),
    c({}, 'tool_calls'),
  ]);
  const starts = events.filter((e) => e.type === 'content_block_start');
  t.match(starts[0], { content_block: { id: 'chatcmpl-tool_7f_3' } });
  t.match(starts[1], { content_block: { id: /^toolu_B9MBs8CjcvOU2jLn4n570S5qMJKcT_1$/ } });
});

t.test('stream: refusal delta becomes text with stop_reason refusal', async (t) => {
  const { events } = run([c({ role: 'assistant', content: null, refusal: "I'm sorry, " }), c({ refusal: 'I cannot help.' }), c({}, 'stop'), usageChunk(3, 4)]);
  t.match(events.at(-2), { type: 'message_delta', delta: { stop_reason: 'refusal' } });
  t.equal(events.filter((e) => e.type === 'content_block_delta').length, 2);
});

t.test('stream: error() after content ends with an error event and no message_stop', async (t) => {
  const tr = new OpenAIChatStreamToAnthropic({ publicModel: 'workhorse' });
  tr.push(c({ role: 'assistant', content: 'partial' }));
  t.strictSame(tr.error('upstream connection reset', 'overloaded_error'), [{ type: 'error', error: { type: 'overloaded_error', message: 'upstream connection reset' } }]);
  t.strictSame(tr.end(), []);
  t.strictSame(tr.error('again'), []);
});

t.test('stream: end() before any chunk emits nothing', async (t) => {
  t.strictSame(new OpenAIChatStreamToAnthropic({ publicModel: 'm' }).end(), []);
});

t.test('serializeAnthropicEvent: SSE framing', async (t) => {
  t.equal(
    serializeAnthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi\n' } }),
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi\\n"}}\n\n',
  );
  t.equal(serializeAnthropicEvent({ type: 'message_stop' }), 'event: message_stop\ndata: {"type":"message_stop"}\n\n');
});
