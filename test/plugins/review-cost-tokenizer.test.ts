import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, ok, stream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

// The o200k tokenizer throws on text that spells a special token; the lazily refined estimate
// is a plain property read (budget header, strategies, the start of every stream), so a
// prompt that merely quotes one must still be served and budgeted.
const PROMPT = 'Why does my model print <|endoftext|> at the end of its answers?';

t.test('a prompt quoting a special token is budgeted and streamed like any other', async (t) => {
  const up = await startFakeUpstream(ok('fine'));
  const gw = await startGateway({
    providers: [{ id: 'p1', kind: 'openai', base_url: up.url }],
    routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x', price: { input: 30, output: 60 } }] }],
  });
  t.teardown(async () => { await gw.close(); await up.close(); });

  // ~1,000 output tokens at $60 / 1M is ~$0.06: far over a $0.00001 budget.
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-switchyard-budget-usd': '0.00001' }, body: JSON.stringify({ model: 'm', max_tokens: 1000, messages: [{ role: 'user', content: PROMPT }] }) });
  t.equal(res.status, 402, 'the budget is enforced, not skipped with the failing hook');
  t.match(await res.json(), { error: { code: 'SY_ERR_BUDGET_EXCEEDED' } });
  t.equal(up.seen.length, 0, 'nothing reached the upstream');

  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  up.queue(stream(['Because ', 'of its stop token.'], { usage: false }));
  const s = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: PROMPT }] }).withResponse();
  t.equal(s.response.status, 200);
  let text = '';
  for await (const c of s.data) text += c.choices[0]?.delta?.content ?? '';
  t.equal(text, 'Because of its stop token.', 'the stream is served');
  t.equal(gw.gw.hookErrors, 0, 'no plugin hook failed on the way');
});
