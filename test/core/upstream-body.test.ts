import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, fail } from '../helpers/fake-upstream.js';
import { routeOver, startGateway } from '../helpers/gateway.js';

// The upstream gets the client's body with only `model` changed, key for key, on every attempt
// (the body is serialised with the target's model swapped in, not copied).
t.test('each attempt sends the client body with the target model, in the client key order', async (t) => {
  const a = await startFakeUpstream(fail(503));
  const b = await startFakeUpstream();
  const gw = await startGateway({ ...routeOver([a.url, b.url]), plugins: [] });
  t.teardown(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const r = await client.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], model: 'm', temperature: 0.5, max_tokens: 7 });
  t.equal(r.choices[0]?.message.content, 'hello');
  t.equal(a.seen.length, 1);
  t.equal(b.seen.length, 1);
  t.same(Object.keys(a.seen[0]!.body!), ['messages', 'model', 'temperature', 'max_tokens']);
  t.equal(a.seen[0]!.body!.model, 'up-model-1');
  t.same(Object.keys(b.seen[0]!.body!), ['messages', 'model', 'temperature', 'max_tokens']);
  t.equal(b.seen[0]!.body!.model, 'up-model-2');
  t.same(b.seen[0]!.body!.messages, [{ role: 'user', content: 'hi' }]);
});

t.test('a body a hook froze still goes out with the target model', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, {
    setup: (hooks) =>
      hooks.add('preRoute', (ctx) => {
        ctx.body = Object.freeze({ ...ctx.body, metadata: { tagged: 'yes' } });
      }, 'freeze'),
  });
  t.teardown(async () => {
    await gw.close();
    await a.close();
  });
  const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
  t.equal(res.status, 200);
  t.equal(a.seen[0]!.body!.model, 'up-model-1');
  t.same(a.seen[0]!.body!.metadata, { tagged: 'yes' });
});
