import type { Gateway } from '../../core/server/gateway.js';
import { ENTRIES } from '../../core/server/data-routes.js';
import { handle } from '../../core/pipeline/handle.js';

/** POST JSON (or raw text) and return status, headers and the parsed (or raw) body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export const chat = (content = 'hi', extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'user', content }], ...extra });

/**
 * The Anthropic entry (/v1/messages) speaks the Anthropic error shape. When the data routes
 * do not register it yet, register a stand-in that runs the same pipeline with
 * protocol 'anthropic', so the error-shape checks hold either way.
 */
export function ensureAnthropicEntry(gw: Gateway): void {
  if (ENTRIES.some((e) => e.path === '/v1/messages')) return;
  gw.app.post('/v1/messages', (req, reply) => handle(gw.state, 'anthropic.messages', 'anthropic', req, reply));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `fn` is true (settlement runs just after the response). */
export async function until(fn: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(10);
  }
  return fn();
}

/** What helpers need of a tap test: somewhere to register cleanup. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}
