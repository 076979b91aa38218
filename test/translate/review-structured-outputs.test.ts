import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, chatCompletion } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicMessage } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Structured outputs across protocols: a JSON schema asked for in one protocol must reach an
// upstream of the other in that upstream's own field, or the model answers in prose and the
// SDK's parse helpers fail.

const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const answer = JSON.stringify({ city: 'Paris' });

t.test('chat response_format json_schema over an Anthropic upstream becomes output_config.format', async (t) => {
  const a = await startFakeAnthropic((seen, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(anthropicMessage(String(seen.body?.model), answer)));
  });
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });

  const r = await c.chat.completions.create({
    model: 'm',
    messages: [{ role: 'user', content: 'Capital of France?' }],
    response_format: { type: 'json_schema', json_schema: { name: 'place', strict: true, schema } },
  });
  t.same(JSON.parse(r.choices[0].message.content ?? ''), { city: 'Paris' });
  t.same(a.seen[0].body?.output_config, { format: { type: 'json_schema', schema } }, 'the schema, without chat-only name/strict');
  t.notOk('response_format' in (a.seen[0].body ?? {}), 'no chat field reaches Anthropic');

  // json_object has no Anthropic form (a schema is required): nothing is sent for it.
  await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } });
  t.notOk('output_config' in (a.seen[1].body ?? {}));

  // The Responses API's text.format rides the same bridge.
  await c.responses.create({ model: 'm', input: 'Capital of France?', text: { format: { type: 'json_schema', name: 'place', schema, strict: true } } });
  t.same(a.seen[2].body?.output_config, { format: { type: 'json_schema', schema } });
});

t.test('Anthropic output_config.format (and the beta output_format) over an OpenAI upstream becomes response_format', async (t) => {
  const a = await startFakeUpstream((seen, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatCompletion(String(seen.body?.model), answer)));
  });
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });

  const msg = await c.messages.create({
    model: 'm', max_tokens: 100,
    messages: [{ role: 'user', content: 'Capital of France?' }],
    output_config: { format: { type: 'json_schema', schema } },
  });
  t.same(msg.content, [{ type: 'text', text: answer }]);
  t.same(a.seen[0].body?.response_format, { type: 'json_schema', json_schema: { name: 'output', schema } });
  t.notOk('output_config' in (a.seen[0].body ?? {}), 'no Anthropic field reaches the chat upstream');

  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'structured-outputs-2025-11-13' },
    body: JSON.stringify({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], output_format: { type: 'json_schema', schema } }),
  });
  t.equal(res.status, 200);
  t.same(a.seen[1].body?.response_format, { type: 'json_schema', json_schema: { name: 'output', schema } });

  // Without a format nothing is added.
  await c.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
  t.notOk('response_format' in (a.seen[2].body ?? {}));
});
