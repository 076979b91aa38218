import t from 'tap';
import { runDemo } from '../../examples/provider-fallback/demo.js';

t.test('the provider-fallback demo serves through the fallback after a 429', async (t) => {
  const r = await runDemo();
  t.equal(r.answer, 'answered by the fallback (llama-3.1-8b)');
  t.equal(r.routeMode, 'model_fallback');
  t.equal(r.provider, 'fallback');
  t.equal(r.model, 'llama-3.1-8b');
  t.equal(r.attempts, '2');
  t.same(r.primaryRequests, [{ model: 'gpt-4o-mini' }], 'exactly one request reached the primary');
  t.same(r.fallbackRequests, [{ model: 'llama-3.1-8b' }], 'exactly one request reached the fallback, model rewritten');
});
