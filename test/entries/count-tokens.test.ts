import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer';
import { startFakeUpstream, closedPort } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicOk, anthropicError } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';
import { estimateMessagesTokens } from '../../core/server/count-tokens.js';

const body = { model: 'm', system: 'You are a helpful assistant.', messages: [{ role: 'user' as const, content: 'How many tokens is this sentence, roughly?' }] };

async function count(url: string, b: Record<string, unknown> = body) {
  const res = await fetch(`${url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

t.test('exact for a route with an Anthropic target: the upstream count_tokens answers', async (t) => {
  const o = await startFakeUpstream();
  const a = await startFakeAnthropic(anthropicOk('x', { inputTokens: 321 }));
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }, { kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); await o.close(); });
  const r = await count(gw.url);
  t.equal(r.res.status, 200);
  t.same(r.json, { input_tokens: 321 });
  t.equal(r.res.headers.get('x-switchyard-token-count'), 'exact');
  t.equal(r.res.headers.get('x-switchyard-provider'), 'p2');
  t.equal(a.seen[0].path, '/v1/messages/count_tokens');
  t.same(a.seen[0].body, { ...body, model: 'up-model-2' });
  t.equal(a.seen[0].headers['x-api-key'], 'sk-test-provider-key-2');
  t.equal(o.seen.length, 0, 'the OpenAI-compatible target is not asked');

  const sdk = await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.countTokens(body);
  t.equal(sdk.input_tokens, 321, 'the Anthropic SDK\'s countTokens works');
});

t.test('estimated for a route without an Anthropic target', async (t) => {
  const o = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); });
  const r = await count(gw.url);
  t.equal(r.res.status, 200);
  t.equal(r.res.headers.get('x-switchyard-token-count'), 'estimated');
  const text = countTokens(`${body.system}\n${body.messages[0].content}`);
  t.ok(typeof r.json.input_tokens === 'number' && (r.json.input_tokens as number) >= text && (r.json.input_tokens as number) <= text + 10, `about ${text} tokens (got ${r.json.input_tokens})`);
  t.equal(o.seen.length, 0);
});

t.test('falls back to the estimate when the Anthropic upstream is unavailable; request errors pass through', async (t) => {
  const port = await closedPort();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: `http://127.0.0.1:${port}` }]));
  t.teardown(async () => { await gw.close(); });
  const r = await count(gw.url);
  t.equal(r.res.status, 200);
  t.equal(r.res.headers.get('x-switchyard-token-count'), 'estimated');
  t.ok((r.json.input_tokens as number) > 0);

  const a = await startFakeAnthropic(anthropicError(400, 'invalid_request_error', 'messages: at least one message is required'));
  const gw2 = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw2.close(); await a.close(); });
  const bad = await count(gw2.url, { ...body, messages: [] });
  t.equal(bad.res.status, 400);
  t.match(bad.json, { type: 'error', error: { type: 'invalid_request_error' } });
});

t.test('unknown model and bad bodies answer in the Anthropic error shape', async (t) => {
  const o = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); });
  const r = await count(gw.url, { ...body, model: 'nope' });
  t.equal(r.res.status, 404);
  t.match(r.json, { type: 'error', error: { type: 'not_found_error', code: 'SY_ERR_MODEL_NOT_FOUND' } });
  const r2 = await count(gw.url, { messages: [] });
  t.equal(r2.res.status, 400);
  t.match(r2.json, { type: 'error', error: { type: 'invalid_request_error' } });
});

t.test('the estimate covers system blocks, tool use, tool results, tools and images', async (t) => {
  const base = estimateMessagesTokens({ messages: [{ role: 'user', content: 'hi' }] });
  const rich = estimateMessagesTokens({
    system: [{ type: 'text', text: 'system prompt text here' }],
    tools: [{ name: 'get_weather', description: 'Get the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'sunny and warm' }] }] },
    ],
  });
  t.ok(rich > base + 1600, `richer requests count more (${base} → ${rich})`);
});

t.test('a prompt quoting a special token (<|endoftext|>) is counted as text, not a 500', async (t) => {
  const o = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); });
  const r = await count(gw.url, { model: 'm', messages: [{ role: 'user', content: 'What does <|endoftext|> mean in a GPT prompt?' }] });
  t.equal(r.res.status, 200);
  t.ok(typeof r.json.input_tokens === 'number' && (r.json.input_tokens as number) >= 10, `counted (${r.json.input_tokens})`);
});
