import t from 'tap';
import OpenAI from 'openai';
import { startFakeUpstream, chunk, type Behaviour } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';
import type { Usage } from '../../core/providers/types.js';

/**
 * Usage is counted when the upstream omits it: the estimate must see every kind of output a
 * chat stream carries (tool-call arguments, reasoning), and reported usage must be read however
 * the upstream spaces its JSON (Python servers write `"usage": {`).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function usageOf(upstream: Behaviour, body: Record<string, unknown> = {}): Promise<{ usage: Usage | null; text: string; args: string }> {
  const a = await startFakeUpstream(upstream);
  const seen: (Usage | null)[] = [];
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { setup: (hooks) => hooks.add('postResponse', (_ctx, o) => { seen.push(o.usage); }, 'test') });
  try {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
    const s = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }], ...body } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = '';
    let args = '';
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) args += tc.function?.arguments ?? '';
    }
    for (let i = 0; i < 50 && seen.length === 0; i++) await sleep(10);
    return { usage: seen[0] ?? null, text, args };
  } finally {
    await gw.close();
    await a.close();
  }
}

const ARGS = ['{"location":', ' "San Francisco, CA",', ' "unit": "celsius",', ' "days": 14}'];

/** A tool call streamed the way OpenAI does, without a usage chunk (the client did not ask). */
const toolCallStream: Behaviour = async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }));
  for (const a of ARGS) {
    await sleep(2);
    res.write(chunk(model, { tool_calls: [{ index: 0, function: { arguments: a } }] }));
  }
  res.write(chunk(model, {}, 'tool_calls'));
  res.end('data: [DONE]\n\n');
};

t.test('a streamed tool call without reported usage is estimated from its arguments', async (t) => {
  const r = await usageOf(toolCallStream);
  t.equal(r.args, ARGS.join(''), 'the arguments passed through');
  const chars = ARGS.join('').length;
  t.match(r.usage, { estimated: true });
  t.ok(r.usage!.outputTokens >= Math.floor(chars / 4), `output estimated from ${chars} argument chars (got ${r.usage?.outputTokens})`);
});

/** Reasoning models (DeepSeek, vLLM reasoning parsers) stream `reasoning_content` with `content: null`. */
const reasoningStream: Behaviour = async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  res.write(chunk(model, { content: 'ok ' }));
  for (let i = 0; i < 10; i++) {
    await sleep(1);
    res.write(chunk(model, { content: null, reasoning_content: 'thinking hard ' }));
  }
  res.write(chunk(model, {}, 'stop'));
  res.end('data: [DONE]\n\n');
};

t.test('reasoning_content after the stream is flowing still counts toward the estimate', async (t) => {
  const r = await usageOf(reasoningStream);
  const chars = 'ok '.length + 10 * 'thinking hard '.length;
  t.ok(r.usage!.outputTokens >= Math.floor(chars / 4), `output estimated from ${chars} chars (got ${r.usage?.outputTokens})`);
});

/** json.dumps-style framing (`", "` and `": "`), as Python OpenAI-compatible servers write it. */
const spaced = (o: object) => `data: ${JSON.stringify(o).replace(/":/g, '": ').replace(/,"/g, ', "')}\n\n`;
const spacedStream = (withUsage: boolean): Behaviour => async (seen, res) => {
  const model = String(seen.body?.model);
  const base = { id: 'chatcmpl-py', object: 'chat.completion.chunk', created: 1, model };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(spaced({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }));
  for (const p of ['The quick brown ', 'fox jumps over ', 'the lazy dog.']) {
    await sleep(2);
    res.write(spaced({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] }));
  }
  res.write(spaced({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
  if (withUsage) res.write(spaced({ ...base, choices: [], usage: { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 } }));
  res.end('data: [DONE]\n\n');
};

t.test('reported usage is read from a stream whose JSON has spaces after colons', async (t) => {
  const r = await usageOf(spacedStream(true), { stream_options: { include_usage: true } });
  t.equal(r.text, 'The quick brown fox jumps over the lazy dog.');
  t.match(r.usage, { inputTokens: 21, outputTokens: 9, estimated: false });
});

t.test('content in spaced JSON counts toward the estimate', async (t) => {
  const r = await usageOf(spacedStream(false));
  const chars = 'The quick brown fox jumps over the lazy dog.'.length;
  t.match(r.usage, { estimated: true });
  t.ok(r.usage!.outputTokens >= Math.floor(chars / 4), `output estimated from ${chars} chars (got ${r.usage?.outputTokens})`);
});

/** Reasoning streamed as `delta.reasoning` (OpenRouter, Ollama, newer vLLM) before any text. */
const longThought: Behaviour = async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  for (let i = 0; i < 12; i++) {
    await sleep(50);
    if (res.destroyed) return;
    res.write(chunk(model, { content: null, reasoning: 'step ' }));
  }
  res.write(chunk(model, { content: 'answer' }));
  res.write(chunk(model, {}, 'stop'));
  res.end('data: [DONE]\n\n');
};

t.test('a `reasoning` delta is content: a model thinking past timeout_ms is not failed over', async (t) => {
  const a = await startFakeUpstream(longThought);
  const b = await startFakeUpstream(async (seen, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(chunk(String(seen.body?.model), { content: 'from b' }) + 'data: [DONE]\n\n');
  });
  const gw = await startGateway({ ...routeOver([a.url, b.url], { timeout_ms: 250, retries: 0 }), plugins: [] });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  const text = await res.text();
  t.equal(res.headers.get('x-switchyard-attempts'), '1', 'the thinking target served the stream');
  t.match(text, /"reasoning":"step "/);
  t.match(text, /"content":"answer"/);
  t.equal(b.seen.length, 0);
});

t.test('an Anthropic client over an upstream that ignores include_usage: tool-call arguments count', async (t) => {
  const a = await startFakeUpstream(toolCallStream);
  const seen: (Usage | null)[] = [];
  const gw = await startGateway({ ...routeOver([a.url]), plugins: [] }, { setup: (hooks) => hooks.add('postResponse', (_ctx, o) => { seen.push(o.usage); }, 'test') });
  t.teardown(async () => { await gw.close(); await a.close(); });
  const res = await fetch(`${gw.baseURL}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'weather?' }] }) });
  const text = await res.text();
  t.match(text, /"stop_reason":"tool_use"/);
  for (let i = 0; i < 50 && seen.length === 0; i++) await sleep(10);
  const chars = ARGS.join('').length;
  t.match(seen[0], { estimated: true });
  t.ok(seen[0]!.outputTokens >= Math.floor(chars / 4), `output estimated from ${chars} argument chars (got ${seen[0]?.outputTokens})`);
});
