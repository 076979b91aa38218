import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

// GET /v1/models is what SDK model pickers and coding agents read to choose a model; a key
// limited to some routes must be offered only those (the others answer it 403).

t.test('/v1/models lists the routes the calling key may use', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: a.url }],
    routes: [
      { model: 'fast', targets: [{ provider: 'p1', model: 'a' }] },
      { model: 'smart', targets: [{ provider: 'p1', model: 'b' }] },
    ],
    keys: [
      { id: 'narrow', key: 'sk-client-narrow-key', routes: ['fast'] },
      { id: 'wide', key: 'sk-client-wide-key-0' },
    ],
  });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const list = async (apiKey: string) => (await new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0 }).models.list()).data.map((m) => m.id);

  t.same(await list('sk-client-narrow-key'), ['fast']);
  t.same(await list('sk-client-wide-key-0'), ['fast', 'smart'], 'a key without a routes list sees every route');
  const narrow = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-client-narrow-key', maxRetries: 0 });
  const denied = await narrow.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
  t.type(denied, OpenAI.PermissionDeniedError, 'the route left out is indeed one the key may not use');
  const bad = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-not-a-key-at-all', maxRetries: 0 }).models.list().catch((e: unknown) => e);
  t.type(bad, OpenAI.AuthenticationError);
});

t.test('/v1/models without client keys lists every route', async (t) => {
  const a = await startFakeUpstream();
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: a.url }],
    routes: [{ model: 'fast', targets: [{ provider: 'p1', model: 'a' }] }, { model: 'smart', targets: [{ provider: 'p1', model: 'b' }] }],
  });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const page = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }).models.list();
  t.same(page.data.map((m) => m.id), ['fast', 'smart']);
  t.match(page.data[0], { object: 'model', owned_by: 'switchyard' });
});
