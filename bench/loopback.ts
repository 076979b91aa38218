/**
 * Preload (`node --import …/loopback.js`) that forces every listening socket of a process
 * onto 127.0.0.1. The Portkey gateway's start-server has no host option and listens on all
 * interfaces; the bench keeps all its servers on loopback.
 */
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]): net.Server {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string') args[1] = '127.0.0.1';
    else if (args[1] === undefined || args[1] === null) args[1] = '127.0.0.1';
    else if (typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
  } else if (first && typeof first === 'object' && !('fd' in first) && !('path' in first) && !('_handle' in first)) {
    args[0] = { ...(first as object), host: '127.0.0.1' };
  }
  return (listen as (...a: unknown[]) => net.Server).apply(this, args);
} as typeof net.Server.prototype.listen;

/**
 * Portkey-AI/gateway#1389: Portkey streams by building `new Response(stream, upstreamResponse)`
 * and then appending headers; with the lightweight Response that its bundled @hono/node-server
 * installs, the upstream fetch's immutable Headers are kept and the append throws (HTTP 500 on
 * every stream). Here stream responses from fetch are re-wrapped with their own Headers so the
 * peer can be measured; JSON responses pass untouched.
 */
const OriginalResponse = globalThis.Response;
const originalFetch = globalThis.fetch;
globalThis.fetch = async function (...args: Parameters<typeof fetch>): Promise<Response> {
  const r = await originalFetch(...args);
  if (!r.headers.get('content-type')?.includes('text/event-stream')) return r;
  return new OriginalResponse(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
