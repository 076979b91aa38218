import t from 'tap';
import { anthropicAdapter } from '../../core/providers/anthropic/adapter.js';
import { openAIAdapter } from '../../core/providers/openai/adapter.js';

const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown;

t.test('errorBody re-shapes an upstream error into the client protocol, status unchanged', async (t) => {
  const toAnthropic = openAIAdapter.exchange('anthropic.messages')!.errorBody!;
  t.same(json(toAnthropic(400, Buffer.from(JSON.stringify({ error: { message: 'bad', type: 'invalid_request_error', param: null, code: null } })))), { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } });
  t.same(json(toAnthropic(429, Buffer.from(JSON.stringify({ error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } })))), { type: 'error', error: { type: 'billing_error', message: 'quota' } });
  t.same(json(toAnthropic(422, Buffer.from('{"detail":"field required"}'))), { type: 'error', error: { type: 'invalid_request_error', message: 'field required' } }, 'FastAPI-style bodies');
  t.same(json(toAnthropic(400, Buffer.from('plain text'))), { type: 'error', error: { type: 'invalid_request_error', message: 'plain text' } });
  const already = Buffer.from(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'x', code: 'SY_ERR_INVALID_REQUEST' } }));
  t.equal(toAnthropic(400, already), already, 'an Anthropic-shaped body stays as is');

  const toOpenAI = anthropicAdapter.exchange('openai.chat')!.errorBody!;
  t.same(json(toOpenAI(404, Buffer.from(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'model: nope' } })))), { error: { message: 'model: nope', type: 'invalid_request_error', param: null, code: 'not_found' } });
  const oai = Buffer.from(JSON.stringify({ error: { message: 'x', type: 'invalid_request_error', param: null, code: 'SY_ERR_INVALID_REQUEST' } }));
  t.equal(toOpenAI(400, oai), oai, 'an OpenAI-shaped body stays as is');
  t.ok(anthropicAdapter.exchange('openai.responses')!.errorBody, 'Responses over Anthropic re-shapes too');

  const ok = Buffer.from('{"id":"x"}');
  t.equal(toOpenAI(200, ok), ok, 'a 2xx (a refusal returned as is) is already in the client protocol');
  t.notOk(openAIAdapter.exchange('openai.chat')!.errorBody, 'same protocol: no re-shaping');
  t.notOk(anthropicAdapter.exchange('anthropic.messages')!.errorBody);
});
