import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';
import { requiredCapabilities } from '../../core/pipeline/capabilities.js';

const img = 'data:image/png;base64,iVBORw0KGgo=';

t.test('what a request needs, in every entry protocol', async (t) => {
  t.same(requiredCapabilities('openai.chat', { messages: [{ role: 'user', content: 'hi' }] }), []);
  t.same(requiredCapabilities('openai.chat', { tools: [{ type: 'function', function: { name: 'f' } }], messages: [] }), ['tools']);
  t.same(requiredCapabilities('openai.chat', { tools: [], messages: [] }), [], 'an empty tools list needs nothing');
  t.same(requiredCapabilities('openai.chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: img } }] }] }), ['vision']);
  t.same(requiredCapabilities('openai.chat', { messages: [], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }), ['json_schema']);
  t.same(requiredCapabilities('openai.chat', { messages: [], response_format: { type: 'json_object' } }), []);
  t.same(requiredCapabilities('openai.chat', { messages: [], reasoning_effort: 'high' }), ['reasoning']);
  t.same(requiredCapabilities('anthropic.messages', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'x' } }] }] }), ['vision']);
  t.same(requiredCapabilities('anthropic.messages', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] }] }), ['vision'], 'images inside tool results count');
  t.same(requiredCapabilities('anthropic.messages', { messages: [], thinking: { type: 'enabled', budget_tokens: 1024 } }), ['reasoning']);
  t.same(requiredCapabilities('anthropic.messages', { messages: [], thinking: { type: 'disabled' } }), []);
  t.same(requiredCapabilities('anthropic.messages', { messages: [], output_config: { format: { type: 'json_schema', schema: {} } } }), ['json_schema'], 'structured outputs, GA spelling');
  t.same(requiredCapabilities('anthropic.messages', { messages: [], output_format: { type: 'json_schema', schema: {} } }), ['json_schema'], 'structured outputs, beta spelling');
  t.same(requiredCapabilities('anthropic.messages', { messages: [], output_config: { effort: 'low' } }), [], 'output_config without a format needs nothing');
  t.same(requiredCapabilities('openai.responses', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: img }] }] }), ['vision']);
  t.same(requiredCapabilities('openai.responses', { input: 'x', text: { format: { type: 'json_schema', name: 'x', schema: {} } }, reasoning: { effort: 'low' } }), ['json_schema', 'reasoning']);
  t.same(requiredCapabilities('openai.embeddings', { input: 'x', tools: [1] }), []);
});

t.test('a target without a needed capability is skipped; the next capable one serves', async (t) => {
  const a = await startFakeUpstream(ok('text only'));
  const b = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url, target: { capabilities: ['tools'] } }, { kind: 'anthropic', url: b.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data: r, response } = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: img } }] }] }).withResponse();
  t.equal(r.choices[0].message.content, 'hello');
  t.equal(a.seen.length, 0, 'the text-only target was never tried');
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(response.headers.get('x-switchyard-attempts'), '1');
  t.match(b.seen[0].body, { messages: [{ role: 'user', content: [{ type: 'text' }, { type: 'image', source: { type: 'base64', media_type: 'image/png' } }] }] });

  // Without images the first target serves.
  const r2 = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(r2.choices[0].message.content, 'text only');
});

t.test('no capable target: 400 SY_ERR_NO_CAPABLE_TARGET naming the capability, in the entry protocol\'s shape', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url, target: { capabilities: ['tools'] } }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', reasoning_effort: 'high', messages: [{ role: 'user', content: 'think' }] }) });
  t.equal(res.status, 400);
  const j = (await res.json()) as { error: { code: string; message: string } };
  t.equal(j.error.code, 'SY_ERR_NO_CAPABLE_TARGET');
  t.match(j.error.message, /reasoning/);

  const err = (await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.create({
    model: 'm', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }],
  }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
  t.type(err, Anthropic.BadRequestError);
  t.match(err.error, { type: 'error', error: { type: 'invalid_request_error', code: 'SY_ERR_NO_CAPABLE_TARGET', message: /vision/ } });
  t.equal(a.seen.length, 0);
});

t.test('max_tokens vs max_completion_tokens per target', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: a.url }],
    routes: [
      { model: 'explicit', targets: [{ provider: 'p1', model: 'my-model', params: { max_tokens_field: 'max_completion_tokens' } }] },
      { model: 'detected', targets: [{ provider: 'p1', model: 'o3-mini' }] },
      { model: 'plain', targets: [{ provider: 'p1', model: 'llama3' }] },
      { model: 'back', targets: [{ provider: 'p1', model: 'gpt-5', params: { max_tokens_field: 'max_tokens' } }] },
    ],
  });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  await c.chat.completions.create({ model: 'explicit', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  await c.chat.completions.create({ model: 'detected', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  await c.chat.completions.create({ model: 'plain', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  await c.chat.completions.create({ model: 'back', max_completion_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  const sent = a.seen.map((s) => ({ max_tokens: s.body?.max_tokens, max_completion_tokens: s.body?.max_completion_tokens }));
  t.same(sent, [
    { max_tokens: undefined, max_completion_tokens: 50 },
    { max_tokens: undefined, max_completion_tokens: 50 },
    { max_tokens: 50, max_completion_tokens: undefined },
    { max_tokens: 50, max_completion_tokens: undefined },
  ]);

  // Translated entries use the target's field too.
  await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.create({ model: 'detected', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  t.match(a.seen[4].body, { max_completion_tokens: 64 });
  t.notOk('max_tokens' in (a.seen[4].body ?? {}));
  await c.responses.create({ model: 'explicit', input: 'hi', max_output_tokens: 77 });
  t.match(a.seen[5].body, { max_completion_tokens: 77 });
});
