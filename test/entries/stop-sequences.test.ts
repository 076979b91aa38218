import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import type { Behaviour } from '../helpers/fake-upstream.js';
import { startFakeUpstream, chatCompletion, fail } from '../helpers/fake-upstream.js';
import { startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Anthropic takes more stop_sequences than OpenAI's chat API (at most 4 `stop`). OpenAI's 400 for
// more is a request-level error, which ends the request: on a mixed route the Anthropic target
// that could serve it would never be tried. Such a request prefers the targets that take it.

/** Answers like OpenAI: a 400 naming the limit when `stop` holds more than 4. */
const likeOpenAI: Behaviour = (seen, res, req) => {
  const stop = seen.body?.stop;
  if (Array.isArray(stop) && stop.length > 4) {
    return fail(400, { error: { message: `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`, type: 'invalid_request_error', param: 'stop', code: 'array_above_max_length' } })(seen, res, req);
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(chatCompletion(String(seen.body?.model), 'from openai')));
};

const six = ['\n\nHuman:', '</answer>', 'STOP', 'END', '###', '<|eot|>'];
const ask = (stop_sequences: string[]) => ({ model: 'm', max_tokens: 64, stop_sequences, messages: [{ role: 'user' as const, content: 'hi' }] });

t.test('more than 4 stop_sequences on a mixed route skip the OpenAI-compatible target for the Anthropic one', async (t) => {
  const o = await startFakeUpstream(likeOpenAI);
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }, { kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await o.close(); await a.close(); });
  const c = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });

  const { data: msg, response } = await c.messages.create(ask(six)).withResponse();
  t.same(msg.content, [{ type: 'text', text: 'hello' }]);
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(response.headers.get('x-switchyard-attempts'), '1');
  t.equal(o.seen.length, 0, 'the OpenAI-compatible target was skipped, not tried');
  t.same(a.seen[0].body?.stop_sequences, six, 'all six reach Anthropic');

  // Four or fewer: the route order stands.
  const four = await c.messages.create(ask(six.slice(0, 4))).withResponse();
  t.equal(four.response.headers.get('x-switchyard-provider'), 'p1');
  t.same(o.seen[0].body?.stop, six.slice(0, 4));

  // Streams are planned the same way.
  const streamed = await c.messages.stream(ask(six)).finalMessage();
  t.same(streamed.content, [{ type: 'text', text: 'hello' }]);
  t.equal(o.seen.length, 1);
});

t.test('with no Anthropic target left the OpenAI-compatible ones are kept: many accept more, and OpenAI\'s 400 names its limit', async (t) => {
  const o = await startFakeUpstream(likeOpenAI);
  const a = await startFakeAnthropic();
  // The Anthropic target lacks `tools`, so for a tool request only the OpenAI-compatible one is capable.
  const gw = await startGateway(routeOverKinds([{ kind: 'openai', url: o.url }, { kind: 'anthropic', url: a.url, target: { capabilities: ['vision'] } }]));
  t.teardown(async () => { await gw.close(); await o.close(); await a.close(); });
  const c = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
  const err = (await c.messages.create({ ...ask(six), tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
  t.type(err, Anthropic.BadRequestError);
  t.match(err.error, { type: 'error', error: { type: 'invalid_request_error', message: /maximum length 4/ } }, 'in the Anthropic shape');
  t.same(o.seen[0]?.body?.stop, six, 'forwarded as sent (vLLM, Ollama, DeepSeek take more than 4)');
  t.equal(a.seen.length, 0);
});
