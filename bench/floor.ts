/**
 * The floor for any Node gateway: fastify 5 + an undici keep-alive Pool, no logic at all.
 * Parse the JSON body (any gateway must, to read `model`), serialise it again, send it to
 * the upstream, and stream the upstream's answer (JSON or SSE) back as it arrives.
 *
 *   node dist/bench/floor.js --port N --upstream http://127.0.0.1:M
 */
import { fastify } from 'fastify';
import { Pool } from 'undici';
import { argValue } from './args.js';

const port = Number(argValue('--port') ?? 0);
const upstream = new URL(argValue('--upstream') ?? 'http://127.0.0.1:18090');
const basePath = upstream.pathname.replace(/\/+$/, '');

const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 0, bodyTimeout: 0 });
const UPSTREAM_HEADERS = { 'content-type': 'application/json' };

const app = fastify({ logger: false, keepAliveTimeout: 65_000, requestIdHeader: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/v1/chat/completions', async (req, reply) => {
  const res = await pool.request({ path: basePath + '/v1/chat/completions', method: 'POST', headers: UPSTREAM_HEADERS, body: JSON.stringify(req.body) });
  reply.code(res.statusCode);
  const ct = res.headers['content-type'];
  if (typeof ct === 'string') reply.header('content-type', ct);
  return reply.send(res.body);
});

await app.listen({ port, host: '127.0.0.1' });
const a = app.server.address();
process.stdout.write(JSON.stringify({ ready: true, port: typeof a === 'object' && a ? a.port : port }) + '\n');
const stop = () => {
  app.close().finally(() => pool.close().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
