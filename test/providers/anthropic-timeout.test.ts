import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { Behaviour } from '../helpers/fake-upstream.js';
import { startFakeAnthropic, anthropicError, anthropicOk } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Anthropic sends `timeout_error` with HTTP 504 (docs: errors). It is a timeout in the taxonomy:
// the next target is tried (no retry on the target that just ran out of time), and when it is the
// final answer the client sees the gateway's 504, in either protocol's shape.

const timeout504 = anthropicError(504, 'timeout_error', 'Request timed out');
const ask = { model: 'm', max_tokens: 32, messages: [{ role: 'user' as const, content: 'hi' }] };

t.test('a lone Anthropic target answering 504 timeout_error: 504 to Anthropic and OpenAI clients, not retried', async (t) => {
  const a = await startFakeAnthropic(timeout504);
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }], { retries: 1 }, { plugins: [] }));
  t.teardown(async () => { await gw.close(); await a.close(); });

  const err = (await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.create(ask).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
  t.type(err, Anthropic.APIError);
  t.equal(err.status, 504);
  t.match(err.error, { type: 'error', error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED', message: /timeout: upstream 504 \(timeout_error\)/ } });
  t.equal(err.headers?.get('x-switchyard-attempts'), '1', 'a timeout is not retried on the same target');
  t.equal(err.headers?.get('x-should-retry'), 'false');

  const oerr = (await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(oerr, OpenAI.APIError);
  t.equal(oerr.status, 504, 'translated to the OpenAI shape with the same status');
  t.match(oerr.error, { code: 'SY_ERR_UPSTREAM_EXHAUSTED', message: /timeout/ });

  // A stream request gets the same answer before any event.
  const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
  t.equal(res.status, 504);
  t.equal(a.seen.length, 3, 'one call per request');
});

t.test('504 timeout_error falls back to the next target at once', async (t) => {
  const a = await startFakeAnthropic(timeout504);
  const b = await startFakeAnthropic(anthropicOk('from b'));
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'anthropic', url: b.url }], { retries: 1 }, { plugins: [] }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const { data: msg, response } = await new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 }).messages.create(ask).withResponse();
  t.same(msg.content, [{ type: 'text', text: 'from b' }]);
  t.equal(a.seen.length, 1, 'the timed-out target is not retried');
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(response.headers.get('x-switchyard-attempts'), '2');
});

t.test('a timeout_error body under a 200 (a proxy answering a stream request) stands for 504, not 408', async (t) => {
  const json200: Behaviour = (_s, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'error', error: { type: 'timeout_error', message: 'Request timed out' } }));
  };
  const a = await startFakeAnthropic(json200);
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }], { retries: 1 }, { plugins: [] }));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ask, stream: true }) });
  t.equal(res.status, 504);
  t.match(await res.json(), { type: 'error', error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED', message: /timeout/ } });
  const failed = gw.logs.filter((l) => l.msg === 'attempt failed');
  t.match(failed, [{ class: 'timeout', status: 504 }], 'the attempt records the status Anthropic sends timeout_error with');
});
