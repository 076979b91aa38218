/**
 * A fast fake OpenAI-compatible upstream for the benchmarks. Plain node:http, run as its own
 * process (pinned away from the load generator by bench/run.ts) so it never shares an event
 * loop with what is measured.
 *
 *   node dist/bench/upstream.js --port N [--host 127.0.0.1]
 *
 * POST …/chat/completions → a canned chat completion, or (body has "stream": true) an SSE
 * stream: one role-only chunk, 10 content chunks, one finish chunk, then `data: [DONE]`.
 * GET …/models → a model list (health probes). GET /__stats → {connections, requests} accepted
 * so far (the bench reads it around each cell). Everything is built once at boot; per request
 * the server only drains the body and writes prebuilt buffers.
 */
import { createServer } from 'node:http';
import { argValue } from './args.js';

const port = Number(argValue('--port') ?? 0);
const host = argValue('--host') ?? '127.0.0.1';

const created = 1_700_000_000;
const WORDS = ['Hello', ' from', ' the', ' bench', ' upstream', ':', ' a', ' canned', ' streamed', ' answer.'];

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created,
    model: 'fake-model',
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join('') }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
  }),
);
const COMPLETION_HEADERS = { 'content-type': 'application/json', 'content-length': String(COMPLETION.length) };

const chunk = (delta: object, finish: string | null): Buffer =>
  Buffer.from(`data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: 'fake-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`);
/** Role-only (a lifecycle frame a gateway may hold back), 10 content frames, the finish frame. */
const FRAMES: Buffer[] = [chunk({ role: 'assistant', content: '' }, null), ...WORDS.map((w) => chunk({ content: w }, null)), chunk({}, 'stop')];
const DONE = Buffer.from('data: [DONE]\n\n');
const STREAM_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

const MODELS = Buffer.from(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model', created, owned_by: 'bench' }] }));
const NOT_FOUND = Buffer.from(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
const STREAM_TRUE = /"stream"\s*:\s*true/;

/** Counters the bench reads between cells: a gateway that does not keep upstream connections alive shows here. */
let connections = 0;
let requests = 0;

const server = createServer((req, res) => {
  const url = req.url ?? '';
  requests++;
  if (req.method === 'GET') {
    req.resume();
    if (url === '/__stats') {
      requests--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ connections, requests }));
    } else if (url.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MODELS.length) });
      res.end(MODELS);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }
    return;
  }
  if (req.method !== 'POST' || !url.endsWith('/chat/completions')) {
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(NOT_FOUND);
    return;
  }
  let body = '';
  req.setEncoding('latin1');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    if (!STREAM_TRUE.test(body)) {
      res.writeHead(200, COMPLETION_HEADERS);
      res.end(COMPLETION);
      return;
    }
    res.writeHead(200, STREAM_HEADERS);
    for (const f of FRAMES) res.write(f);
    res.end(DONE);
  });
});
server.on('connection', () => connections++);
// Longer than any client pool's idle timeout, so the server never closes a socket a pool is about to reuse.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(port, host, () => {
  const a = server.address();
  process.stdout.write(JSON.stringify({ ready: true, port: typeof a === 'object' && a ? a.port : port }) + '\n');
});
const stop = () => server.close(() => process.exit(0)).closeAllConnections();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
