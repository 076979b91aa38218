import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { parseConfig } from '../../core/config/load.js';
import { createLogger } from '../../core/log.js';
import { Gateway, type GatewayOptions } from '../../core/server/gateway.js';

export interface TestGateway {
  gw: Gateway;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Base URL for SDK clients: url + /v1 */
  baseURL: string;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Start a gateway on 127.0.0.1:0 from a config object (validated like a file). */
export async function startGateway(config: Record<string, unknown>, opts: Partial<Omit<GatewayOptions, 'config'>> = {}): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const { config: cfg } = parseConfig(JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, ...config }), 'test.json');
  const gw = await Gateway.create({ config: cfg, logger: createLogger('debug', sink), ...opts });
  const url = await gw.listen(0, '127.0.0.1');
  return { gw, url, baseURL: `${url}/v1`, logs, close: () => gw.close(2000) };
}

/** A one-route config over the given upstream base URLs, in order. */
export function routeOver(urls: string[], route: Record<string, unknown> = {}, models?: string[]): Record<string, unknown> {
  return {
    providers: urls.map((u, i) => ({ id: `p${i + 1}`, kind: 'openai', base_url: u, api_key: `sk-test-provider-key-${i + 1}` })),
    routes: [{ model: 'm', targets: urls.map((_u, i) => ({ provider: `p${i + 1}`, model: models?.[i] ?? `up-model-${i + 1}` })), ...route }],
  };
}

/** A chat stream through the official OpenAI client: its text, last finish_reason and the HTTP response. */
/** A chat stream read until it ends or fails: its text, and the error that ended it (null when it finished). */
export async function chatStreamUntilEnd(baseURL: string): Promise<{ text: string; error: unknown }> {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  const s = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  try {
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    return { text, error: null };
  } catch (error) {
    return { text, error };
  }
}

export async function collectChatStream(baseURL: string, body: Partial<OpenAI.Chat.ChatCompletionCreateParamsStreaming> = {}) {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data: s, response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }).withResponse();
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null = null;
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    usage = c.usage ?? usage;
  }
  return { text, finish, usage, response };
}
