import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';
import { registerAdapter } from '../../core/providers/registry.js';
import { openAIAdapter } from '../../core/providers/openai/adapter.js';
import { jsonWithModel } from '../../core/providers/json-with-model.js';
import type { Exchange } from '../../core/providers/types.js';

// The Responses entry is bridged to chat completions / Anthropic Messages, which keep no state.
// A request that points at stored state (previous_response_id, conversation, a stored prompt,
// item references) answered over a bridge would be a 200 from a model that never saw the
// history. Such a request must skip the bridges, and get a 400 naming the field when none is left.

const openai = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });

t.test('previous_response_id over bridged targets only: 400 in the OpenAI shape, no upstream call', async (t) => {
  const o = await startFakeUpstream(ok('no history'));
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }, { kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); await a.close(); });
  const c = openai(gw.baseURL);

  const err = (await c.responses.create({ model: 'm', input: 'and what is its capital?', previous_response_id: 'resp_abc123' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.equal(err.status, 400);
  t.match(err.error, { type: 'invalid_request_error', code: 'SY_ERR_NO_CAPABLE_TARGET', param: 'previous_response_id', message: /previous_response_id.*server-side Responses state/ });
  t.notMatch(err.message, /declare capabilities in the config/, 'not something target config can fix');
  t.ok(err.headers?.get('x-request-id'));

  // Streams are planned the same way: the error comes before any event.
  const streamErr = await c.responses.create({ model: 'm', input: 'x', previous_response_id: 'resp_abc123', stream: true }).catch((e: unknown) => e);
  t.type(streamErr, OpenAI.BadRequestError);

  // The other stored-state fields.
  const post = (body: Record<string, unknown>) => fetch(`${gw.baseURL}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', ...body }) });
  for (const [field, body] of [
    ['conversation', { input: 'hi', conversation: 'conv_123' }],
    ['conversation', { input: 'hi', conversation: { id: 'conv_123' } }],
    ['prompt', { input: 'hi', prompt: { id: 'pmpt_123', version: '2' } }],
    ['input', { input: [{ type: 'item_reference', id: 'msg_123' }, { role: 'user', content: 'and then?' }] }],
    ['input', { input: [{ id: 'msg_123' }, { role: 'user', content: 'and then?' }] }],
  ] as const) {
    const r = await post(body);
    t.equal(r.status, 400, `${JSON.stringify(body)} is refused`);
    t.match(await r.json(), { error: { code: 'SY_ERR_NO_CAPABLE_TARGET', param: field, type: 'invalid_request_error' } });
  }
  t.equal(o.seen.length + a.seen.length, 0, 'no bridged target was tried');

  // Fields that carry no state (null, the SDKs' echo) change nothing: the route order serves.
  const served = await c.responses.create({ model: 'm', input: 'hi', previous_response_id: null, store: false });
  t.equal(served.output_text, 'no history');
  t.equal(o.seen.length, 1);
});

t.test('a target that resolves Responses state is preferred over bridged ones earlier in the route', async (t) => {
  // An OpenAI kind with a native Responses exchange (none is built in: every built-in Responses
  // exchange is a bridge), registered for this test's process only.
  const native: Exchange = {
    responsesState: true,
    request: (body, target) => ({ path: '/responses', body: jsonWithModel(body, target.model) }),
    response: (raw) => ({ body: raw, usage: null, contentFiltered: false }),
    stream: () => { throw new Error('not used'); },
  };
  registerAdapter({ ...openAIAdapter, exchange: (entry) => (entry === 'openai.responses' ? native : openAIAdapter.exchange(entry)) });
  t.teardown(() => registerAdapter(openAIAdapter));

  const a = await startFakeAnthropic();
  const o = await startFakeUpstream((seen, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'resp_native', object: 'response', created_at: 1, status: 'completed', model: seen.body?.model, output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Paris', annotations: [] }] }], previous_response_id: seen.body?.previous_response_id ?? null }));
  });
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: o.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); await a.close(); });

  const { data: r, response } = await openai(gw.baseURL).responses.create({ model: 'm', input: 'and its capital?', previous_response_id: 'resp_abc123' }).withResponse();
  t.equal(r.output_text, 'Paris');
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(response.headers.get('x-switchyard-attempts'), '1');
  t.equal(a.seen.length, 0, 'the bridged Anthropic target was skipped, not tried');
  t.match(o.seen[0], { path: '/v1/responses', body: { previous_response_id: 'resp_abc123' } }, 'the field reaches the native API');

  // Without stored state the route order stands.
  await openai(gw.baseURL).responses.create({ model: 'm', input: 'hi', max_output_tokens: 20 });
  t.equal(a.seen.length, 1);
});
