import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a request in flight when a 429 cooled the target does not end the cooldown by succeeding', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  // First request to a: slow but fine. Second (concurrent): 429 asking for 30 s.
  a.queue(async (s, res) => { await sleep(400); ok('slow a')(s, res, undefined as never); }, fail(429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '30' }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

  const slow = ask();
  await sleep(100);
  t.equal((await ask()).choices[0].message.content, 'from b', 'the 429 fell back and cooled a');
  t.equal((await slow).choices[0].message.content, 'slow a', 'the older request to a still succeeded');
  await sleep(100); // postResponse runs after the response
  for (let i = 0; i < 3; i++) t.equal((await ask()).choices[0].message.content, 'from b', 'a stays cooled until its Retry-After');
  t.equal(a.seen.length, 2, 'no request reached a after the 429');
});

t.test('a success that started after the cooldown (its half-open trial) still closes it', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  a.queue(fail(429, undefined, { 'retry-after': '1' }));
  const gw = await startGateway(routeOver([a.url, b.url], { retries: 0 }));
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const ask = () => client.chat.completions.create({ model: 'm', messages: [] });
  t.equal((await ask()).choices[0].message.content, 'from b');
  await sleep(1100);
  t.equal((await ask()).choices[0].message.content, 'from a', 'the trial went to a');
  await sleep(50);
  t.equal((await ask()).choices[0].message.content, 'from a', 'and closed the circuit');
});
