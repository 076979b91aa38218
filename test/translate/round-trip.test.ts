/**
 * Cross-direction checks: translating there and back keeps a tool-using conversation
 * intact, and chaining the two stream translators reproduces the original message.
 */
import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  OpenAIChatStreamToAnthropic,
  anthropicRequestToOpenAIChat,
  openAIChatResponseToAnthropic,
  serializeAnthropicEvent,
} from '../../core/translate/anthropic-to-openai.js';
import { AnthropicStreamToOpenAIChat, anthropicResponseToOpenAIChat, openAIChatRequestToAnthropic } from '../../core/translate/openai-to-anthropic.js';
import { responsesRequestToChat } from '../../core/translate/responses-to-chat.js';
import type { AnthropicMessage, AnthropicMessagesRequest, OpenAIChatRequest, ResponsesRequest } from '../../core/translate/types.js';

/** Returns a fetch that records the JSON body the SDK sends and answers with `reply`. */
function capture(reply: object): { fetch: typeof fetch; bodies: unknown[] } {
  const bodies: unknown[] = [];
  return {
    bodies,
    fetch: async (_url, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify(reply), { status: 200, headers: { 'content-type': 'application/json' } });
    },
  };
}

const conversation: AnthropicMessagesRequest = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: 'You are terse.',
  messages: [
    { role: 'user', content: 'Weather in Paris?' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'Paris', days: 2, opts: { unit: 'c' } } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '18°C' }, { type: 'text', text: 'And now?' }] },
  ],
  tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
  tool_choice: { type: 'tool', name: 'get_weather' },
  stop_sequences: ['STOP'],
  temperature: 0.3,
};

t.test('request round trip Anthropic → OpenAI → Anthropic keeps the tool conversation', async (t) => {
  const back = openAIChatRequestToAnthropic(anthropicRequestToOpenAIChat(conversation, 'gpt-4o'), 'claude-sonnet-4-5', 999);
  t.strictSame(back, {
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system: 'You are terse.',
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      conversation.messages[1],
      conversation.messages[2],
    ],
    temperature: 0.3,
    stop_sequences: ['STOP'],
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
    tool_choice: { type: 'tool', name: 'get_weather' },
  });
});

t.test('request round trip OpenAI → Anthropic → OpenAI keeps the tool conversation', async (t) => {
  const chat: OpenAIChatRequest = {
    model: 'workhorse',
    messages: [
      { role: 'system', content: 'Sys.' },
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":[1,2]}' } }, { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'r1' },
      { role: 'tool', tool_call_id: 'call_2', content: 'r2' },
    ],
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }, { type: 'function', function: { name: 'g', parameters: { type: 'object' } } }],
    tool_choice: 'auto',
    max_tokens: 50,
  };
  const back = anthropicRequestToOpenAIChat(openAIChatRequestToAnthropic(chat, 'claude'), 'gpt-4o');
  t.strictSame(back.messages, chat.messages);
  t.strictSame(back.tools, chat.tools);
  t.equal(back.tool_choice, 'auto');
  t.equal(back.max_tokens, 50);
});

t.test('response round trip Anthropic → OpenAI → Anthropic', async (t) => {
  const msg: AnthropicMessage = {
    id: 'msg_01XYZ',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [{ type: 'text', text: 'Sure.' }, { type: 'tool_use', id: 'toolu_9', name: 'f', input: { q: 'x' } }],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 4 },
  };
  const back = openAIChatResponseToAnthropic(anthropicResponseToOpenAIChat(msg, 'workhorse', 1), 'claude-sonnet-4-5');
  t.strictSame(back, msg);
});

t.test('stream chain: Anthropic events → OpenAI chunks → Anthropic events parse back to the same message', async (t) => {
  const upstream: Array<[string, object]> = [
    ['message_start', { type: 'message_start', message: { id: 'msg_01Chain', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'On it.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01X', name: 'search', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"query": "ts' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: ' 6 release"}' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 31 } }],
    ['message_stop', { type: 'message_stop' }],
  ];
  const toOpenAI = new AnthropicStreamToOpenAIChat({ publicModel: 'mid', includeUsage: true, created: 1 });
  const toAnthropic = new OpenAIChatStreamToAnthropic({ publicModel: 'workhorse' });
  const events = [
    ...upstream.flatMap(([name, data]) => toOpenAI.push(name, data)).flatMap((frame) => ('choices' in frame ? toAnthropic.push(frame) : [])),
    ...toOpenAI.end().flatMap((frame) => ('choices' in frame ? toAnthropic.push(frame) : [])),
    ...toAnthropic.end(),
  ];
  const client = new Anthropic({
    apiKey: 'k',
    baseURL: 'http://gateway.test',
    maxRetries: 0,
    fetch: async () => new Response(events.map(serializeAnthropicEvent).join(''), { headers: { 'content-type': 'text/event-stream' } }),
  });
  const final = await client.messages.stream({ model: 'workhorse', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
  t.same(final.content, [
    { type: 'text', text: 'On it.' },
    { type: 'tool_use', id: 'toolu_01X', name: 'search', input: { query: 'ts 6 release' } },
  ]);
  t.equal(final.stop_reason, 'tool_use');
  t.match(final.usage, { input_tokens: 50, output_tokens: 31 });
  t.equal(final.id, 'msg_01Chain');
});

t.test('SDK-produced request bodies translate as expected', async (t) => {
  const a = capture({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } });
  await new Anthropic({ apiKey: 'k', baseURL: 'http://gateway.test', maxRetries: 0, fetch: a.fetch }).messages.create({
    model: 'workhorse',
    max_tokens: 256,
    system: [{ type: 'text', text: 'S', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }, { type: 'text', text: 'what?' }] }],
  });
  t.strictSame(anthropicRequestToOpenAIChat(a.bodies[0] as AnthropicMessagesRequest, 'gpt-4o'), {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }, { type: 'text', text: 'what?' }] },
    ],
    max_tokens: 256,
  });

  const r = capture({ id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm', output: [], error: null, incomplete_details: null });
  await new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.test/v1', maxRetries: 0, fetch: r.fetch }).responses.create({
    model: 'workhorse',
    instructions: 'Be brief.',
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_image', image_url: 'https://x.test/b.png', detail: 'high' }] }],
    tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} }, strict: false }],
    max_output_tokens: 64,
  });
  t.strictSame(responsesRequestToChat(r.bodies[0] as ResponsesRequest, 'llama'), {
    model: 'llama',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://x.test/b.png', detail: 'high' } }] },
    ],
    max_tokens: 64,
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} }, strict: false } }],
  });
});
