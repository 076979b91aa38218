import t from 'tap';
import OpenAI from 'openai';
import { startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Anthropic answers one completion per request. A chat client asking for n > 1 must be told,
// not handed a single choice it will index past; on a mixed route an OpenAI target serves it.

t.test('n > 1 over an Anthropic upstream is a clear 400 in the OpenAI shape; n = 1 is served', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });

  const err = (await c.chat.completions.create({ model: 'm', n: 3, messages: [{ role: 'user', content: 'three ideas' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.match(err.error, { type: 'invalid_request_error', code: 'SY_ERR_NO_CAPABLE_TARGET', message: /n=3/ });
  t.equal(a.seen.length, 0, 'nothing was sent upstream');

  const r = await c.chat.completions.create({ model: 'm', n: 1, messages: [{ role: 'user', content: 'one idea' }] });
  t.equal(r.choices.length, 1);
  t.equal(r.choices[0].message.content, 'hello');
});

t.test('n > 1 on a route with an Anthropic target first goes to the OpenAI-compatible one', async (t) => {
  const a = await startFakeAnthropic();
  const o = await startFakeUpstream();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }, { kind: 'openai', url: o.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); await o.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { response } = await c.chat.completions.create({ model: 'm', n: 2, messages: [{ role: 'user', content: 'two ideas' }] }).withResponse();
  t.equal(response.headers.get('x-switchyard-provider'), 'p2');
  t.equal(a.seen.length, 0, 'the Anthropic target was skipped, not tried');
  t.equal(o.seen[0]?.body?.n, 2, 'n reached the OpenAI-compatible upstream');
  const plain = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'one' }] }).withResponse();
  t.equal(plain.response.headers.get('x-switchyard-provider'), 'p1', 'without n the route order stands');
});
