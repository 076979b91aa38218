import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, renderError } from '../errors.js';

/**
 * Input limits for everything a client sends, each refused with a clear 4xx in the entry
 * protocol's error shape before any routing work:
 * - body size: fastify's bodyLimit (server.body_limit_mb) → 413;
 * - JSON nesting: server.max_json_depth, checked by a linear scan of the raw text before
 *   JSON.parse allocates anything → 400;
 * - JSON itself: parsed with fastify's prototype-poisoning-safe parser, whatever the
 *   content-type (clients that forget `application/json` still work) → 400;
 * - header size: node's maxHeaderSize (server.max_header_bytes) → 431;
 * - shape: `messages` / `input` / `stream` of the wrong type, and more than
 *   server.max_messages messages (or Responses input items) → 400.
 */

export interface LimitSettings {
  max_json_depth: number;
  max_messages: number;
  max_header_bytes?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/**
 * True when `text`, read as JSON, nests objects/arrays deeper than `max`. Never recurses.
 * Strings (nearly all of a prompt's bytes) are skipped with indexOf, not char by char.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // To the closing quote: the next quote not escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return false; // unterminated: JSON.parse reports it
        let k = j - 1;
        while (text.charCodeAt(k) === 92) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      i = j;
    } else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** Which error shape and which checks a data-plane path gets. */
type Shape = 'chat' | 'embeddings' | 'messages' | 'responses' | 'count_tokens';
const SHAPES = new Map<string, Shape>([
  ['/v1/chat/completions', 'chat'],
  ['/v1/embeddings', 'embeddings'],
  ['/v1/messages', 'messages'],
  ['/v1/messages/count_tokens', 'count_tokens'],
  ['/v1/responses', 'responses'],
]);

const invalid = (message: string, param: string) => new GatewayError('SY_ERR_INVALID_REQUEST', message, { param });

/** The structural checks of one data-plane body; null when it passes. */
export function shapeProblem(kind: Shape, body: Record<string, unknown>, maxMessages: number): GatewayError | null {
  if ('stream' in body && body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return invalid('stream must be a boolean', 'stream');
  if (kind === 'chat' || kind === 'messages' || kind === 'count_tokens') {
    const m = body.messages;
    if (m === undefined) return invalid('missing required parameter: messages', 'messages');
    if (!Array.isArray(m)) return invalid('messages must be an array of message objects', 'messages');
    if (m.length > maxMessages) return invalid(`too many messages: ${m.length} (this gateway accepts at most ${maxMessages}, server.max_messages)`, 'messages');
    for (let i = 0; i < m.length; i++) {
      const x = m[i];
      if (!x || typeof x !== 'object' || Array.isArray(x)) return invalid(`messages[${i}] must be an object`, `messages[${i}]`);
    }
  } else if (kind === 'embeddings') {
    const input = body.input;
    if (input === undefined) return invalid('missing required parameter: input', 'input');
    if (typeof input !== 'string' && !Array.isArray(input)) return invalid('input must be a string or an array', 'input');
    if (Array.isArray(input) && input.length > maxMessages) return invalid(`too many inputs: ${input.length} (at most ${maxMessages}, server.max_messages)`, 'input');
  } else if (kind === 'responses') {
    const input = body.input;
    if (input !== undefined && typeof input !== 'string' && !Array.isArray(input)) return invalid('input must be a string or an array of input items', 'input');
    if (Array.isArray(input) && input.length > maxMessages) return invalid(`too many input items: ${input.length} (at most ${maxMessages}, server.max_messages)`, 'input');
  }
  return null;
}

/**
 * Replace the body parsers (application/json and everything else) with the depth-checked,
 * poisoning-safe one, and check data-plane body shapes before the handler runs.
 */
export function installInputLimits(app: FastifyInstance, limits: LimitSettings): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  const parse = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void, emptyOk: boolean) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '' && emptyOk) return done(null, undefined);
    if (jsonDepthExceeds(text, limits.max_json_depth)) {
      return done(new GatewayError('SY_ERR_INVALID_REQUEST', `request body nests JSON deeper than ${limits.max_json_depth} levels (server.max_json_depth)`));
    }
    secureParse(req, text, (err, parsed) => {
      if (!err) return done(null, parsed);
      if (text === '') return done(err);
      let why = 'it contains a forbidden __proto__ or constructor.prototype key';
      try {
        JSON.parse(text);
      } catch (e) {
        why = (e as Error).message.slice(0, 200);
      }
      done(new GatewayError('SY_ERR_INVALID_JSON', `request body is not valid JSON: ${why}`));
    });
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => parse(req, body, done, false));
  // Clients that forget the JSON content-type still get JSON parsing (curl -d does this).
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => parse(req, body, done, true));

  // Keyed by the path, not req.routeOptions (a getter that builds an object on every call).
  app.addHook('preValidation', (req, _reply, done) => {
    if (req.method !== 'POST' || req.is404) return done();
    const q = req.url.indexOf('?');
    const kind = SHAPES.get(q === -1 ? req.url : req.url.slice(0, q));
    const body = req.body;
    if (!kind || !body || typeof body !== 'object' || Array.isArray(body)) return done();
    done(shapeProblem(kind, body as Record<string, unknown>, limits.max_messages) ?? undefined);
  });
}

/** Options for node's HTTP server (fastify `http`). */
export function httpServerOptions(limits: LimitSettings): { maxHeaderSize: number } {
  return { maxHeaderSize: limits.max_header_bytes ?? DEFAULT_MAX_HEADER_BYTES };
}

/**
 * Errors node raises before a request exists (oversized or malformed headers, header
 * timeouts): answered in the OpenAI error shape, since the path is not known yet.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let ge: GatewayError;
  if (err.code === 'HPE_HEADER_OVERFLOW') ge = new GatewayError('SY_ERR_HEADERS_TOO_LARGE', 'request headers are too large (server.max_header_bytes)');
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') ge = new GatewayError('SY_ERR_INVALID_REQUEST', 'request timed out before it was complete', { status: 408 });
  else ge = new GatewayError('SY_ERR_INVALID_REQUEST', 'malformed HTTP request');
  const body = renderError(ge, 'openai');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${ge.status} ${STATUS_CODES[ge.status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
