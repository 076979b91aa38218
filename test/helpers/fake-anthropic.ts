import type { ServerResponse } from 'node:http';
import { startFakeUpstream, type Behaviour, type FakeUpstream, type Seen } from './fake-upstream.js';

/**
 * A fake Anthropic Messages API on 127.0.0.1:0. `url` is the base URL the Anthropic SDK and
 * a `kind: anthropic` provider take (no /v1: the caller appends /v1/messages). The default
 * behaviour answers like the real API: a message (or its full SSE event sequence when the
 * body says stream: true), and `{ input_tokens }` on /v1/messages/count_tokens.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FakeToolUse {
  id?: string;
  name: string;
  input: Record<string, unknown>;
}

export interface MessageOpts {
  tool?: FakeToolUse;
  usage?: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number };
  stopReason?: string;
  /** count_tokens answer. */
  inputTokens?: number;
}

const USAGE = { input_tokens: 12, output_tokens: 6 };

export function anthropicMessage(model: string, text: string, opts: MessageOpts = {}) {
  const content: unknown[] = [];
  if (text) content.push({ type: 'text', text });
  if (opts.tool) content.push({ type: 'tool_use', id: opts.tool.id ?? 'toolu_fake1', name: opts.tool.name, input: opts.tool.input });
  return {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: opts.stopReason ?? (opts.tool ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...(opts.usage ?? USAGE) },
  };
}

export function sse(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export interface StreamOpts extends MessageOpts {
  delayMs?: number;
  /** Destroy the socket after this many text deltas (a mid-stream cut). */
  cutAfter?: number;
  /** Send message_start (+ ping), then an `event: error` of this type, then end. */
  errorBeforeContent?: string;
  /** Send message_start, then destroy the socket. */
  cutBeforeContent?: boolean;
  /** Leave out message_stop (a stream that ends without its terminator). */
  noStop?: boolean;
}

/** The full Anthropic event sequence for `pieces` of text (and optionally a tool call). */
export const anthropicStream = (pieces: string[] = ['Hel', 'lo'], opts: StreamOpts = {}): Behaviour => async (seen, res) => {
  const model = String(seen.body?.model);
  const usage: NonNullable<MessageOpts['usage']> = opts.usage ?? USAGE;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(sse('message_start', { message: { ...anthropicMessage(model, '', opts), content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: usage.cache_read_input_tokens ?? 0, output_tokens: 1 } } }));
  if (opts.cutBeforeContent) {
    await sleep(5);
    res.destroy();
    return;
  }
  res.write(sse('ping', {}));
  if (opts.errorBeforeContent) {
    res.end(sse('error', { error: { type: opts.errorBeforeContent, message: 'Overloaded' } }));
    return;
  }
  let index = 0;
  if (pieces.length) {
    res.write(sse('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    let n = 0;
    for (const p of pieces) {
      if (opts.delayMs) await sleep(opts.delayMs);
      if (res.destroyed) return;
      res.write(sse('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
      n++;
      if (opts.cutAfter !== undefined && n >= opts.cutAfter) {
        await sleep(5);
        res.destroy();
        return;
      }
    }
    res.write(sse('content_block_stop', { index }));
    index++;
  }
  if (opts.tool) {
    const json = JSON.stringify(opts.tool.input);
    res.write(sse('content_block_start', { index, content_block: { type: 'tool_use', id: opts.tool.id ?? 'toolu_fake1', name: opts.tool.name, input: {} } }));
    const mid = Math.floor(json.length / 2);
    for (const part of [json.slice(0, mid), json.slice(mid)]) res.write(sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } }));
    res.write(sse('content_block_stop', { index }));
  }
  res.write(sse('message_delta', { delta: { stop_reason: opts.stopReason ?? (opts.tool ? 'tool_use' : 'end_turn'), stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
  if (opts.noStop) {
    res.end();
    return;
  }
  res.end(sse('message_stop', {}));
};

/** Answers like the real API: message or stream by the body's `stream`, and count_tokens. */
export const anthropicOk = (text = 'hello', opts: StreamOpts = {}): Behaviour => async (seen, res, req) => {
  if (seen.path.endsWith('/count_tokens')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ input_tokens: opts.inputTokens ?? 42 }));
    return;
  }
  if (seen.body?.stream === true) return anthropicStream(text ? [text] : [], opts)(seen, res, req);
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' });
  res.end(JSON.stringify(anthropicMessage(String(seen.body?.model), text, opts)));
};

/** An error status with an Anthropic error body. */
export const anthropicError = (status: number, type: string, message = `fake ${type}`, headers: Record<string, string> = {}): Behaviour => (_s: Seen, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_fake' }));
};

/** 529 overloaded_error, as Anthropic sends under load. */
export const overloaded = (): Behaviour => anthropicError(529, 'overloaded_error', 'Overloaded');

/** Start a fake Anthropic upstream; `url` has no /v1 (like ANTHROPIC_BASE_URL). */
export async function startFakeAnthropic(fallback: Behaviour = anthropicOk()): Promise<FakeUpstream> {
  const up = await startFakeUpstream(fallback);
  up.url = `http://127.0.0.1:${up.port}`;
  return up;
}
