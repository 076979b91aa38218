import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, fail } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

/** OpenAI-compatible servers that do not nest their error under `error` are still classified. */

const bodies = [
  // vLLM before 0.9 (and Mistral): the fields at the top level.
  { name: 'vLLM (top-level fields)', body: { object: 'error', message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).", type: 'BadRequestError', param: null, code: 400 } },
  { name: 'Mistral (top-level fields)', body: { object: 'error', message: 'Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length', type: 'invalid_request_error', param: null, code: null } },
  // llama.cpp's llama-server.
  { name: 'llama.cpp', body: { error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 5000, n_ctx: 4096 } } },
];

for (const c of bodies) {
  t.test(`${c.name}: a context-length 400 falls back to the target with the larger window`, async (t) => {
    const small = await startFakeUpstream(fail(400, c.body));
    const big = await startFakeUpstream(ok('from big window'));
    const gw = await startGateway({
      providers: [{ id: 'local', kind: 'openai', base_url: small.url }, { id: 'cloud', kind: 'openai', base_url: big.url }],
      routes: [{ model: 'm', targets: [{ provider: 'local', model: 'small', context_window: 4096 }, { provider: 'cloud', model: 'big', context_window: 128000 }] }],
      plugins: [],
    });
    t.teardown(async () => { await gw.close(); await small.close(); await big.close(); });
    const { data, response } = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'long' }] }).withResponse();
    t.equal(data.choices[0].message.content, 'from big window');
    t.equal(response.headers.get('x-switchyard-route-mode'), 'model_fallback');
    t.equal(small.seen.length, 1);
  });
}

t.test('a top-level-fields 400 that is not about context is still returned as is, with no fallback', async (t) => {
  const body = { object: 'error', message: 'max_tokens must be at least 1, got -186.', type: 'BadRequestError', param: null, code: 400 };
  const a = await startFakeUpstream(fail(400, body));
  const b = await startFakeUpstream(ok());
  const gw = await startGateway({
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x', context_window: 4096 }, { provider: 'b', model: 'y', context_window: 128000 }] }],
    plugins: [],
  });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [], max_tokens: -186 }) });
  t.equal(res.status, 400);
  t.same(await res.json(), body);
  t.equal(b.seen.length, 0);
});
