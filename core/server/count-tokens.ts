import { requestIdOf } from './request-id.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { boundedCountTokens } from './bounded-tokens.js';
import { GatewayError, renderError } from '../errors.js';
import { KeyRing } from '../access/keys.js';
import type { PipelineState } from '../pipeline/handle.js';
import { anthropicPath } from '../providers/anthropic/paths.js';
import type { Target } from '../routing/table.js';

/**
 * `POST /v1/messages/count_tokens` (Anthropic; coding agents call it to manage their context).
 * Exact when the route has an anthropic target: the first one's upstream count_tokens is
 * asked (model rewritten). Otherwise, or when that upstream is unavailable, an estimate
 * with an o200k BPE tokenizer over the prompt text. Answers `{ input_tokens }`;
 * `x-switchyard-token-count: exact | estimated` says which.
 */

/** Tokenize at most this much text exactly; beyond it, extrapolate (bounded work per request). */
const EXACT_CHARS = 100_000;
/** Images have no text; Anthropic bills about (w×h)/750 tokens, ~1600 for a typical 1.15 MP image. */
const IMAGE_TOKENS = 1600;
/** Role markers and block framing per message. */
const PER_MESSAGE = 4;
const ERROR_BODY_CAP = 256 * 1024;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The gateway's estimate of an Anthropic request's input tokens. */
export function estimateMessagesTokens(body: Record<string, unknown>): number {
  const texts: string[] = [];
  let images = 0;
  const block = (b: unknown): void => {
    if (typeof b === 'string') texts.push(b);
    else if (Array.isArray(b)) for (const x of b) block(x);
    else if (isObj(b)) {
      if (b.type === 'image' || (b.type === 'document' && isObj(b.source) && b.source.type !== 'text')) images++;
      else if (typeof b.text === 'string') texts.push(b.text);
      else if (typeof b.thinking === 'string') texts.push(b.thinking);
      else if (b.type === 'tool_use') texts.push(String(b.name ?? ''), JSON.stringify(b.input ?? {}));
      else if (b.type === 'tool_result') block(b.content);
      else if (isObj(b.source) && typeof b.source.data === 'string') texts.push(b.source.data);
    }
  };
  block(body.system);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) if (isObj(m)) block(m.content);
  for (const t of Array.isArray(body.tools) ? body.tools : []) if (isObj(t)) texts.push(JSON.stringify({ name: t.name, description: t.description, input_schema: t.input_schema }));

  const all = texts.join('\n');
  const sample = all.length > EXACT_CHARS ? all.slice(0, EXACT_CHARS) : all;
  const counted = sample ? boundedCountTokens(sample) : 0;
  const textTokens = all.length > sample.length ? Math.ceil(counted * (all.length / sample.length)) : counted;
  return textTokens + images * IMAGE_TOKENS + messages.length * PER_MESSAGE;
}

async function exactCount(target: Target, body: Record<string, unknown>, headers: FastifyRequest['headers'], timeoutMs: number): Promise<{ status: number; body: Buffer } | null> {
  const p = target.provider;
  const h: Record<string, string> = { ...p.headers };
  if (typeof headers['anthropic-beta'] === 'string') h['anthropic-beta'] = headers['anthropic-beta'];
  try {
    const res = await p.pool.request({
      path: p.basePath + anthropicPath(target, '/messages/count_tokens'),
      method: 'POST',
      headers: h,
      body: JSON.stringify({ ...body, model: target.model }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > ERROR_BODY_CAP) {
        res.body.destroy();
        return null;
      }
      chunks.push(c as Buffer);
    }
    return { status: res.statusCode, body: Buffer.concat(chunks) };
  } catch {
    return null;
  }
}

export async function countTokensRoute(state: PipelineState, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const id = requestIdOf(req.headers);
  const sendError = (ge: GatewayError) => reply.code(ge.status).headers({ 'x-request-id': id, ...ge.headers, 'content-type': 'application/json' }).send(renderError(ge, 'anthropic'));
  const body = req.body as Record<string, unknown> | undefined;
  if (!isObj(body)) return sendError(new GatewayError('SY_ERR_INVALID_REQUEST', 'request body must be a JSON object'));
  if (typeof body.model !== 'string' || !body.model) return sendError(new GatewayError('SY_ERR_INVALID_REQUEST', 'missing required parameter: model', { param: 'model' }));
  const route = state.routes.get(body.model);
  if (!route) return sendError(new GatewayError('SY_ERR_MODEL_NOT_FOUND', `model "${body.model.slice(0, 200)}" is not a route on this gateway (GET /v1/models lists them)`, { param: 'model' }));
  const keys = state.access?.keys;
  if (keys?.enabled) {
    const keyId = state.access!.keyIdOf(req);
    const key = keyId ? keys.byId(keyId) : undefined;
    if (!key) return sendError(new GatewayError('SY_ERR_UNAUTHORIZED', 'missing or invalid API key'));
    if (!KeyRing.owns(key, route.model)) return sendError(new GatewayError('SY_ERR_FORBIDDEN', `this API key may not use model "${route.model}"`, { param: 'model' }));
  }

  const target = route.targets.find((t) => t.provider.kind === 'anthropic');
  if (target) {
    const r = await exactCount(target, body, req.headers, route.timeoutMs);
    const headers = { 'x-request-id': id, 'x-switchyard-provider': target.provider.id, 'x-switchyard-model': target.model, 'content-type': 'application/json' };
    if (r && r.status >= 200 && r.status < 300) {
      return reply.code(200).headers({ ...headers, 'x-switchyard-token-count': 'exact' }).send(r.body);
    }
    const f = r ? target.provider.adapter.classify(r.status, {}, r.body) : null;
    // The request itself is wrong: the client needs the upstream's word, not an estimate.
    if (r && f && f.class === 'request_invalid') return reply.code(r.status).headers(headers).send(r.body);
    state.log.debug({ requestId: id, target: target.id, status: r?.status ?? null, class: f?.class ?? 'connect_error' }, 'count_tokens upstream unavailable: estimating');
  }
  return reply.code(200).headers({ 'x-request-id': id, 'x-switchyard-token-count': 'estimated', 'content-type': 'application/json' }).send(JSON.stringify({ input_tokens: estimateMessagesTokens(body) }));
}
