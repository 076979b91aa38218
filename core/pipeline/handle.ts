import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError, renderError } from '../errors.js';
import type { Entry, Usage } from '../providers/types.js';
import type { Route } from '../routing/table.js';
import { PASSTHROUGH_CLASSES, type Failure } from '../attempts/failure.js';
import { runAttemptLoop, type LoopResult } from '../attempts/loop.js';
import { routeModeOf } from '../attempts/route-mode.js';
import { relayStream } from '../streaming/relay.js';
import { Context, type Outcome, type RequestContext } from './context.js';
import type { Hooks } from './hooks.js';
import { staticPlan } from './plan.js';
import { summarize } from './summary.js';
import type { Access } from '../access/access.js';
import { scrubBody } from '../access/secrets.js';
import { RequestAbort } from './abort.js';
import { requestIdOf } from '../server/request-id.js';

/** What the request handler needs from the running gateway. Swapped whole on config publish. */
export interface PipelineState {
  routes: Map<string, Route>;
  hooks: Hooks;
  log: Logger;
  /** Client keys, route ownership, budgets, rate limits (core/access). */
  access?: Access;
}

/** Status and message for a request whose every attempt failed. */
function exhausted(f: Failure | null, attempts: number): GatewayError {
  // A plan a hook emptied: the chain is exhausted before it started.
  if (!f) return new GatewayError('SY_ERR_UPSTREAM_EXHAUSTED', 'no target is available for this route', { status: 503, headers: { 'x-should-retry': 'false', 'retry-after': '1' } });
  const headers: Record<string, string> = { 'x-should-retry': 'false' };
  const status = f.class === 'rate_limited' || f.class === 'quota' ? 429 : f.class === 'overloaded' ? 503 : f.class === 'timeout' ? 504 : 502;
  // A gateway-made 429/503 always says when to come back, even when the upstream did not.
  if (f.retryAfterMs != null || status === 429 || status === 503) headers['retry-after'] = String(Math.max(1, Math.ceil((f.retryAfterMs ?? 0) / 1000)));
  return new GatewayError('SY_ERR_UPSTREAM_EXHAUSTED', `all upstream attempts failed (${attempts} attempt${attempts === 1 ? '' : 's'}); last: ${f.class}: ${f.message}`, { status, headers });
}

/**
 * The headers of a request that reached the attempt loop. One object literal of a fixed shape:
 * spreading two objects into a literal and adding keys afterwards put handle's own CPU at ~15 µs
 * a request (profile of the routing-only bench arm; ~5 with this). The gateway's own headers
 * win over a hook's.
 */
function servedHeaders(id: string, mode: string, attempts: number, last: { provider: string; model: string } | undefined, extra: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = last
    ? { 'x-request-id': id, 'x-switchyard-route-mode': mode, 'x-switchyard-attempts': String(attempts), 'x-switchyard-provider': last.provider, 'x-switchyard-model': last.model }
    : { 'x-request-id': id, 'x-switchyard-route-mode': mode, 'x-switchyard-attempts': String(attempts) };
  for (const k in extra) if (!Object.hasOwn(h, k)) h[k] = extra[k]!;
  return h;
}

/**
 * One data-plane request through the named phases:
 * parse → preRoute → resolve Route → selectProvider → attempt loop → respond → postResponse.
 */
export async function handle(state: PipelineState, entry: Entry, protocol: 'openai' | 'anthropic', req: FastifyRequest, reply: FastifyReply, keyId: string | null = null): Promise<void> {
  const t0 = performance.now();
  const id = requestIdOf(req.headers);
  const body = req.body as Record<string, unknown>;
  const baseHeaders: Record<string, string> = { 'x-request-id': id };

  const sendError = (err: GatewayError, extra: Record<string, string> = {}) => {
    reply.code(err.status).headers({ ...baseHeaders, ...extra, ...err.headers, 'content-type': 'application/json' }).send(renderError(err, protocol));
  };

  if (!body || typeof body !== 'object' || Array.isArray(body)) return sendError(new GatewayError('SY_ERR_INVALID_REQUEST', 'request body must be a JSON object'));
  if (typeof body.model !== 'string' || !body.model) return sendError(new GatewayError('SY_ERR_INVALID_REQUEST', 'missing required parameter: model', { param: 'model' }));
  const route = state.routes.get(body.model);
  if (!route) return sendError(new GatewayError('SY_ERR_MODEL_NOT_FOUND', `model "${body.model.slice(0, 200)}" is not a route on this gateway (GET /v1/models lists them)`, { param: 'model' }));
  const stream = body.stream === true && entry !== 'openai.embeddings';

  const abort = new RequestAbort();
  const deadline = setTimeout(() => abort.abort('deadline'), route.deadlineMs);
  const onClose = () => {
    if (!reply.raw.writableFinished) abort.abort('client');
  };
  reply.raw.on('close', onClose);

  const ctx: RequestContext = new Context({
    id,
    entry,
    protocol,
    receivedAt: Date.now(),
    t0,
    headers: req.headers,
    body,
    route,
    summary: summarize(entry, body, req.headers, keyId ?? state.access?.keyIdOf(req) ?? null),
    abort,
    deadlineAt: t0 + route.deadlineMs,
    random: Math.random(),
    plan: null,
    attempts: [],
    responseHeaders: {},
    state: {},
    log: state.log,
  });

  let loop: LoopResult | null = null;
  let usage: Usage | null = null;
  let status = 200;
  let errorCode: string | null = null;
  let interrupted = false;
  let clientAborted = false;
  let ttftMs: number | null = null;
  try {
    const admission = state.access?.admit(ctx); // 403 / 402 / 429 before any plugin hook or upstream call
    if (admission) await admission;
    await state.hooks.runPreRoute(ctx);
    ctx.plan = await state.hooks.runSelectProvider(ctx, staticPlan(route, entry, ctx.body));
    loop = await runAttemptLoop(ctx, entry, state.hooks, stream);
  } catch (err) {
    const ge = err instanceof GatewayError ? err : new GatewayError('SY_ERR_INTERNAL', 'internal gateway error');
    if (!(err instanceof GatewayError)) ctx.log.error({ err, requestId: id }, 'request failed inside the gateway');
    status = ge.status;
    errorCode = ge.code;
    // Refused before or between attempts (limits, cooldown, a plugin): still the gateway headers.
    const last = ctx.attempts[ctx.attempts.length - 1];
    sendError(ge, servedHeaders(id, routeModeOf(route, ctx.plan, ctx.attempts, null), ctx.attempts.length, last, ctx.responseHeaders));
  }

  if (loop) {
    const mode = routeModeOf(route, ctx.plan, ctx.attempts, loop.served);
    const last = ctx.attempts[ctx.attempts.length - 1];
    const headers = servedHeaders(id, mode, ctx.attempts.length, last, ctx.responseHeaders);
    const r = loop.result;
    if (r && r.kind === 'json') {
      ttftMs = r.ttfbMs;
      usage = r.usage;
      headers['content-type'] = 'application/json';
      reply.code(200).headers(headers).send(r.body);
    } else if (r && r.kind === 'stream') {
      ttftMs = r.ttfbMs;
      reply.hijack();
      const end = await relayStream(reply.raw, r.stream, headers);
      usage = r.stream.translator.usage(ctx.summary.estimatedInputTokens);
      interrupted = end.interrupted;
      clientAborted = end.clientAborted;
      if (interrupted) errorCode = 'SY_ERR_STREAM_INTERRUPTED';
    } else if (loop.aborted === 'client') {
      clientAborted = true;
      status = 499;
      if (!reply.raw.destroyed) reply.raw.destroy();
    } else {
      const f = loop.lastFailure;
      if (f && PASSTHROUGH_CLASSES.has(f.class) && f.body) {
        // Request-level errors reach the client as the upstream sent them.
        status = f.status ?? 400;
        // ...re-shaped into the client protocol's error shape when the upstream spoke another one.
        const failedTarget = last ? ctx.route.targetsById.get(last.target) : undefined;
        const ex = failedTarget?.provider.adapter.exchange(entry);
        const errBody = ex?.errorBody ? ex.errorBody(status, f.body) : f.body;
        reply.code(status).headers({ ...headers, 'content-type': ex?.errorBody ? 'application/json' : f.contentType ?? 'application/json' }).send(scrubBody(errBody));
      } else {
        const ge = loop.aborted === 'deadline' ? new GatewayError('SY_ERR_DEADLINE', `request deadline of ${route.deadlineMs} ms reached`, { headers: { 'x-should-retry': 'false' } }) : exhausted(f, ctx.attempts.length);
        status = ge.status;
        sendError(ge, headers);
      }
      errorCode = errorCode ?? (f ? f.class : null);
    }
  }

  clearTimeout(deadline);
  reply.raw.off('close', onClose);
  const served = loop?.served ?? null;
  const outcome: Outcome = {
    status,
    ok: status < 400 && !interrupted && !clientAborted,
    routeMode: routeModeOf(route, ctx.plan, ctx.attempts, served),
    served,
    attempts: ctx.attempts,
    usage,
    latencyMs: performance.now() - t0,
    ttftMs,
    stream,
    errorCode,
    errorClass: loop?.lastFailure && !served ? loop.lastFailure.class : null,
    interrupted,
    clientAborted,
    lastFailure: loop?.lastFailure ?? null,
    costUsd: null,
  };
  // Settlement (tokens, budget spend) runs after postResponse, which sets outcome.costUsd.
  if (state.hooks.postResponse.length || state.access?.settles(ctx)) setImmediate(() => void state.hooks.runPostResponse(ctx, outcome).then(() => state.access?.settle(ctx, outcome)));
}
