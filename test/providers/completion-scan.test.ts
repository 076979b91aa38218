import t from 'tap';
import fc from 'fast-check';
import { scanCompletion } from '../../core/providers/openai/completion-scan.js';
import { openAIChatPassthrough } from '../../core/providers/openai/chat-passthrough.js';
import { openAIUsage } from '../../core/providers/openai/usage.js';

/** What a full parse says: the reference the byte scan must agree with. */
function parsed(raw: Buffer) {
  const j = JSON.parse(raw.toString('utf8')) as { choices: { finish_reason?: string }[]; usage?: unknown };
  return { usage: openAIUsage(j.usage), contentFiltered: j.choices[0]?.finish_reason === 'content_filter' };
}

// Text that tries to fool a scanner: quotes, backslashes, braces, the keys themselves.
const tricky = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('"usage": {"prompt_tokens": 999}', '\\"usage\\"', '{"choices":[', '}}}]]', '\\', '\\\\"', 'é🦊\u2028', '"error"x'),
);
const usage = fc.option(
  fc.record({
    prompt_tokens: fc.nat(100000),
    completion_tokens: fc.nat(100000),
    total_tokens: fc.nat(200000),
    prompt_tokens_details: fc.option(fc.record({ cached_tokens: fc.nat(1000), audio_tokens: fc.nat(10) }), { nil: undefined }),
    completion_tokens_details: fc.option(fc.record({ reasoning_tokens: fc.nat(1000) }), { nil: undefined }),
  }),
  { nil: undefined },
);
const completion = fc.record({
  content: fc.array(tricky, { maxLength: 4 }).map((xs) => xs.join('')),
  usage,
  usageNull: fc.boolean(),
  finish: fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter'),
  choices: fc.integer({ min: 1, max: 3 }),
  extra: fc.dictionary(fc.constantFrom('system_fingerprint', 'service_tier', 'x_meta', 'note'), tricky, { maxKeys: 2 }),
  indent: fc.constantFrom(0, 2),
});

t.test('the byte scan of a completion agrees with a full parse', async (t) => {
  let scanned = 0;
  fc.assert(
    fc.property(completion, (c) => {
      const body = {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        choices: Array.from({ length: c.choices }, (_, i) => ({ index: i, message: { role: 'assistant', content: c.content }, finish_reason: i === 0 ? c.finish : 'stop' })),
        ...c.extra,
        ...(c.usage ? { usage: c.usage } : c.usageNull ? { usage: null } : {}),
      };
      const raw = Buffer.from(JSON.stringify(body, null, c.indent));
      const s = scanCompletion(raw);
      if (s) scanned++;
      // Null means "parse it whole": always allowed. Anything else must equal the full parse.
      return s === null || JSON.stringify(s) === JSON.stringify(parsed(raw));
    }),
    { numRuns: 3000 },
  );
  t.ok(scanned > 1000, `the fast path serves most completions (${scanned} of 3000)`);
});

t.test('shapes the scan leaves to the full parse', async (t) => {
  const filtered = Buffer.from(JSON.stringify({ choices: [{ finish_reason: 'content_filter', message: { content: '' } }], usage: { prompt_tokens: 1, completion_tokens: 0 } }));
  t.equal(scanCompletion(filtered), null, 'a content filter verdict');
  t.same(openAIChatPassthrough.response(filtered, undefined as never, 'm', {}).contentFiltered, true, 'is still seen by the exchange');
  t.equal(scanCompletion(Buffer.from('{"error":{"message":"x"}}')), null, 'an error object');
  t.equal(scanCompletion(Buffer.from('{"choices":[{"message":{"content":"cut')), null, 'a cut-off body');
  t.equal(scanCompletion(Buffer.from('{"data":[]}')), null, 'not a completion');
  t.throws(() => openAIChatPassthrough.response(Buffer.from('{"choices":[{"message":{"content":"cut'), undefined as never, 'm', {}), 'a cut-off body is refused, so the attempt fails over');
  const ok = Buffer.from(' {"choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}}\n');
  t.same(scanCompletion(ok), { usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 4, reasoningTokens: undefined, estimated: false }, contentFiltered: false });
});
