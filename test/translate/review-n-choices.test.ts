import t from 'tap';
import OpenAI from 'openai';
import { startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { startGateway } from '../helpers/gateway.js';
import { routeOverKinds } from '../helpers/mixed-route.js';

// Anthropic answers one completion per request. A chat client asking for n > 1 must be told,
// not handed a single choice it will index past.

t.test('n > 1 over an Anthropic upstream is a clear 400 in the OpenAI shape; n = 1 is served', async (t) => {
  const a = await startFakeAnthropic();
  const gw = await startGateway(routeOverKinds([{ kind: 'anthropic', url: a.url }]));
  t.teardown(async () => { await gw.close(); await a.close(); });
  const c = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });

  const err = (await c.chat.completions.create({ model: 'm', n: 3, messages: [{ role: 'user', content: 'three ideas' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
  t.type(err, OpenAI.BadRequestError);
  t.match(err.error, { type: 'invalid_request_error', message: /n=3/ });
  t.equal(a.seen.length, 0, 'nothing was sent upstream');

  const r = await c.chat.completions.create({ model: 'm', n: 1, messages: [{ role: 'user', content: 'one idea' }] });
  t.equal(r.choices.length, 1);
  t.equal(r.choices[0].message.content, 'hello');
});
