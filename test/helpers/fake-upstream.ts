import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake upstream received it. */
export interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
  raw: string;
  /** Resolves when the client side of this request closed (aborted or finished). */
  closed: Promise<void>;
}

/** One scripted answer. */
export type Behaviour = (seen: Seen, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export interface FakeUpstream {
  /** Base URL including /v1, for a provider's base_url. */
  url: string;
  port: number;
  seen: Seen[];
  /** Answers for the next requests, in order; after them `fallback` answers. */
  queue(...b: Behaviour[]): void;
  fallback: Behaviour;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function chatCompletion(model: string, text: string, usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }) {
  return { id: 'chatcmpl-fake', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }], usage };
}

/** 200 with a chat completion naming the model it was asked for. */
export const ok = (text = 'hello'): Behaviour => (seen, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  if (seen.path.endsWith('/embeddings')) {
    res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5, 0.25] }], model: seen.body?.model, usage: { prompt_tokens: 2, total_tokens: 2 } }));
  } else res.end(JSON.stringify(chatCompletion(String(seen.body?.model), text)));
};

/** An error status with an OpenAI-shaped body (or the body given). */
export const fail = (status: number, body: unknown = { error: { message: `fake ${status}`, type: 'fake_error', code: null } }, headers: Record<string, string> = {}): Behaviour => (_s, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

export const raw = (status: number, contentType: string, body: string): Behaviour => (_s, res) => {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
};

/** Never answers (until the client goes away). */
export const hang = (): Behaviour => async (seen) => {
  await seen.closed;
};

/** Sends headers, then nothing. */
export const stallAfterHeaders = (contentType = 'text/event-stream'): Behaviour => async (seen, res) => {
  res.writeHead(200, { 'content-type': contentType });
  res.flushHeaders();
  await seen.closed;
};

export function chunk(model: string, delta: object, finish: string | null = null, extra: object = {}): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
}

/**
 * An SSE chat stream: role chunk, one chunk per piece of text, finish chunk, [DONE].
 * `cutAfter`: destroy the socket after that many content pieces (a mid-stream cut).
 * `cutBeforeContent`: send the role chunk, then destroy the socket.
 */
export const stream = (pieces: string[] = ['Hel', 'lo'], opts: { delayMs?: number; cutAfter?: number; cutBeforeContent?: boolean; usage?: boolean; stallAfter?: number } = {}): Behaviour => async (seen, res) => {
  const model = String(seen.body?.model);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  if (opts.cutBeforeContent) {
    await sleep(5);
    res.destroy();
    return;
  }
  let n = 0;
  for (const p of pieces) {
    if (opts.delayMs) await sleep(opts.delayMs);
    if (res.destroyed) return;
    res.write(chunk(model, { content: p }));
    n++;
    if (opts.cutAfter !== undefined && n >= opts.cutAfter) {
      await sleep(5);
      res.destroy();
      return;
    }
    if (opts.stallAfter !== undefined && n >= opts.stallAfter) {
      await seen.closed;
      return;
    }
  }
  res.write(chunk(model, {}, 'stop'));
  if (opts.usage) res.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 7, completion_tokens: pieces.length, total_tokens: 7 + pieces.length } })}\n\n`);
  res.end('data: [DONE]\n\n');
};

/** Start a fake OpenAI-compatible upstream on 127.0.0.1, port 0. */
export async function startFakeUpstream(fallback: Behaviour = ok()): Promise<FakeUpstream> {
  const queued: Behaviour[] = [];
  const seen: Seen[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const up = {} as FakeUpstream;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | null = null;
    try {
      body = rawBody ? JSON.parse(rawBody) : null;
    } catch {
      body = null;
    }
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    const s: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, raw: rawBody, closed };
    seen.push(s);
    const b = queued.shift() ?? up.fallback;
    try {
      await b(s, res, req);
    } catch {
      res.destroy();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  Object.assign(up, {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    seen,
    fallback,
    queue: (...b: Behaviour[]) => queued.push(...b),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  });
  return up;
}

/** A port with nothing listening (connect_error). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A promise the test opens when it wants. */
export function latch(): { p: Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

/** Answer with `b` once `gate` opens (nothing if the gateway gave up on the call meanwhile). */
export const held = (gate: Promise<void>, b: Behaviour): Behaviour => async (s, res, req) => {
  await gate;
  if (!res.destroyed) await b(s, res, req);
};
