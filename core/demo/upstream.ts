import { createServer, type Server } from 'node:http';

/**
 * A tiny OpenAI-compatible upstream for the quickstart: answers chat completions (stream and
 * not), embeddings and model lists, and fails a share of requests with 429 so fallback can
 * be watched. Not a test double: tests use test/helpers/fake-upstream.ts.
 */
export interface DemoUpstreamOptions {
  id: string;
  port: number;
  failRate: number;
  latencyMs: number;
}

export async function startDemoUpstream(o: DemoUpstreamOptions): Promise<{ server: Server; url: string }> {
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'GET' && url.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: `${o.id}-model`, object: 'model', owned_by: 'demo' }] }));
      }
      let body: { model?: string; stream?: boolean; messages?: { content?: unknown }[] } = {};
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'invalid JSON', type: 'invalid_request_error' } }));
      }
      n++;
      if (o.failRate > 0 && (n % Math.round(1 / o.failRate) === 0 || Math.random() < o.failRate / 2)) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        return res.end(JSON.stringify({ error: { message: `demo upstream ${o.id} is rate limiting you`, type: 'rate_limit_error', code: 'rate_limit_exceeded' } }));
      }
      setTimeout(() => {
        if (url.endsWith('/embeddings')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } }));
        }
        const last = body.messages?.[body.messages.length - 1]?.content;
        const text = `Hello from demo upstream "${o.id}" (model ${body.model}). You said: ${typeof last === 'string' ? last.slice(0, 200) : '...'}`;
        const id = `chatcmpl-demo-${n}`;
        const created = Math.floor(Date.now() / 1000);
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
          res.write(chunk({ role: 'assistant', content: '' }, null));
          for (const word of text.split(/(?<= )/)) res.write(chunk({ content: word }, null));
          res.write(chunk({}, 'stop'));
          return res.end('data: [DONE]\n\n');
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } }));
      }, o.latencyMs);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : o.port}` };
}
