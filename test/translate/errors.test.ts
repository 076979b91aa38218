import t from 'tap';
import { anthropicErrorToOpenAI, anthropicErrorTypeForStatus, openAIErrorToAnthropic } from '../../core/translate/errors.js';

t.test('openAIErrorToAnthropic: real OpenAI error bodies', async (t) => {
  t.strictSame(
    openAIErrorToAnthropic(401, { error: { message: 'Incorrect API key provided: sk-abc***.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }),
    { type: 'error', error: { type: 'authentication_error', message: 'Incorrect API key provided: sk-abc***.' } },
  );
  t.strictSame(
    openAIErrorToAnthropic(429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }),
    { type: 'error', error: { type: 'billing_error', message: 'You exceeded your current quota, please check your plan and billing details.' } },
  );
  t.strictSame(
    openAIErrorToAnthropic(429, { error: { message: 'Rate limit reached for gpt-4o-mini in organization org-x on tokens per min (TPM): Limit 200000.', type: 'tokens', param: null, code: 'rate_limit_exceeded' } }),
    { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for gpt-4o-mini in organization org-x on tokens per min (TPM): Limit 200000.' } },
  );
  t.strictSame(
    openAIErrorToAnthropic(400, { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }),
    { type: 'error', error: { type: 'invalid_request_error', message: "This model's maximum context length is 128000 tokens." } },
  );
  t.strictSame(
    openAIErrorToAnthropic(404, { error: { message: 'The model `gpt-5-turbo` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' } }).error.type,
    'not_found_error',
  );
});

t.test('openAIErrorToAnthropic: compatible servers and junk bodies', async (t) => {
  t.strictSame(openAIErrorToAnthropic(404, { error: "model 'llama3:70b' not found, try pulling it first" }), {
    type: 'error',
    error: { type: 'not_found_error', message: "model 'llama3:70b' not found, try pulling it first" },
  });
  t.strictSame(openAIErrorToAnthropic(422, { detail: 'Field required: messages' }).error, { type: 'invalid_request_error', message: 'Field required: messages' });
  t.strictSame(openAIErrorToAnthropic(503, [{ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }]).error, { type: 'overloaded_error', message: 'The model is overloaded.' });
  t.strictSame(openAIErrorToAnthropic(502, '<html><body>Bad Gateway</body></html>').error, { type: 'api_error', message: '<html><body>Bad Gateway</body></html>' });
  t.strictSame(openAIErrorToAnthropic(500, null).error, { type: 'api_error', message: 'upstream returned HTTP 500' });
  t.equal(openAIErrorToAnthropic(500, 'x'.repeat(2000)).error.message.length, 501, 'long bodies are truncated');
});

t.test('anthropicErrorTypeForStatus covers the documented types', async (t) => {
  const table: Record<number, string> = {
    400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error', 403: 'permission_error', 404: 'not_found_error',
    413: 'request_too_large', 422: 'invalid_request_error', 429: 'rate_limit_error', 500: 'api_error', 502: 'api_error',
    503: 'overloaded_error', 504: 'timeout_error', 529: 'overloaded_error',
  };
  for (const [status, type] of Object.entries(table)) t.equal(anthropicErrorTypeForStatus(Number(status)), type, `HTTP ${status}`);
});

t.test('anthropicErrorToOpenAI: real Anthropic error bodies', async (t) => {
  const cases: Array<[number, string, string, { type: string; code: string | null }]> = [
    [400, 'invalid_request_error', 'max_tokens: Field required', { type: 'invalid_request_error', code: null }],
    [400, 'invalid_request_error', 'prompt is too long: 212345 tokens > 200000 maximum', { type: 'invalid_request_error', code: 'context_length_exceeded' }],
    [401, 'authentication_error', 'invalid x-api-key', { type: 'invalid_request_error', code: 'invalid_api_key' }],
    [402, 'billing_error', 'Your credit balance is too low.', { type: 'insufficient_quota', code: 'insufficient_quota' }],
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.', { type: 'invalid_request_error', code: 'permission_denied' }],
    [404, 'not_found_error', 'model: claude-4-ultra', { type: 'invalid_request_error', code: 'not_found' }],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', { type: 'invalid_request_error', code: 'request_too_large' }],
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', { type: 'rate_limit_error', code: 'rate_limit_exceeded' }],
    [500, 'api_error', 'Internal server error', { type: 'server_error', code: null }],
    [529, 'overloaded_error', 'Overloaded', { type: 'server_error', code: 'overloaded' }],
    [504, 'timeout_error', 'Request timed out', { type: 'server_error', code: 'timeout' }],
  ];
  for (const [status, type, message, expected] of cases) {
    const body = { type: 'error', error: { type, message }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' };
    t.strictSame(anthropicErrorToOpenAI(status, body), { error: { message, type: expected.type, param: null, code: expected.code } }, type);
  }
});

t.test('anthropicErrorToOpenAI: falls back to the status for foreign bodies', async (t) => {
  t.strictSame(anthropicErrorToOpenAI(429, 'Too Many Requests'), { error: { message: 'Too Many Requests', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } });
  t.strictSame(anthropicErrorToOpenAI(502, undefined), { error: { message: 'upstream returned HTTP 502', type: 'server_error', param: null, code: null } });
  t.strictSame(anthropicErrorToOpenAI(418, { type: 'error', error: { type: 'teapot_error', message: 'short and stout' } }), {
    error: { message: 'short and stout', type: 'invalid_request_error', param: null, code: null },
  });
});
