/**
 * Provider fallback, end to end: two fake OpenAI-compatible upstreams on loopback, the
 * primary answering 429, and a gateway routing "workhorse" over both. The official OpenAI
 * SDK asks the gateway once; the gateway serves the answer from the fallback.
 *
 *   npm run demo
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { parseConfig } from '../../core/config/load.js';
import { createLogger } from '../../core/log.js';
import { Gateway } from '../../core/server/gateway.js';

interface Upstream {
  name: string;
  url: string;
  requests: { model: string }[];
  server: Server;
}

async function upstream(name: string, answer: (model: string) => { status: number; body: unknown; headers?: Record<string, string> }): Promise<Upstream> {
  const requests: { model: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const model = String(JSON.parse(raw || '{}').model);
      requests.push({ model });
      const a = answer(model);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, server };
}

export interface DemoResult {
  answer: string;
  routeMode: string | null;
  provider: string | null;
  model: string | null;
  attempts: string | null;
  primaryRequests: { model: string }[];
  fallbackRequests: { model: string }[];
}

export async function runDemo(log = createLogger('warn')): Promise<DemoResult> {
  const primary = await upstream('primary', () => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } }));
  const fallback = await upstream('fallback', (model) => ({
    status: 200,
    body: { id: 'chatcmpl-demo', object: 'chat.completion', created: 0, model, choices: [{ index: 0, message: { role: 'assistant', content: `answered by the fallback (${model})` }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } },
  }));
  const { config } = parseConfig(
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      providers: [
        { id: 'primary', kind: 'openai', base_url: primary.url },
        { id: 'fallback', kind: 'openai', base_url: fallback.url },
      ],
      routes: [{ model: 'workhorse', targets: [{ provider: 'primary', model: 'gpt-4o-mini' }, { provider: 'fallback', model: 'llama-3.1-8b' }] }],
    }),
    'demo.json',
  );
  const gw = await Gateway.create({ config, logger: log });
  const url = await gw.listen(0, '127.0.0.1');
  try {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed-locally' });
    const { data, response } = await client.chat.completions.create({ model: 'workhorse', messages: [{ role: 'user', content: 'Say hello.' }] }).withResponse();
    return {
      answer: data.choices[0].message.content ?? '',
      routeMode: response.headers.get('x-switchyard-route-mode'),
      provider: response.headers.get('x-switchyard-provider'),
      model: response.headers.get('x-switchyard-model'),
      attempts: response.headers.get('x-switchyard-attempts'),
      primaryRequests: primary.requests,
      fallbackRequests: fallback.requests,
    };
  } finally {
    await gw.close(1000);
    primary.server.close();
    fallback.server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runDemo();
  console.log(`answer:        ${r.answer}`);
  console.log(`route mode:    ${r.routeMode}   (primary answered 429, the gateway fell back to another model)`);
  console.log(`served by:     provider ${r.provider}, model ${r.model}, after ${r.attempts} attempts`);
  console.log(`primary saw:   ${r.primaryRequests.length} request(s) ${JSON.stringify(r.primaryRequests)}`);
  console.log(`fallback saw:  ${r.fallbackRequests.length} request(s) ${JSON.stringify(r.fallbackRequests)}`);
}
