import { z } from 'zod';
import { definePlugin, type PluginApi } from '../../sdk/plugin.js';
import { requestMetrics } from './metrics.js';
import { RequestLog, toRow } from './request-log.js';
import { registerTrafficRoute } from './traffic.js';

const config = z.strictObject({
  /** One structured log line per request. */
  log_requests: z.boolean().default(true),
  /** The SQLite request log (needs a data dir). */
  request_log: z.boolean().default(true),
  max_age_days: z.number().positive().default(7),
  max_rows: z.number().int().positive().default(1_000_000),
}).prefault({});
type TelemetryConfig = z.infer<typeof config>;

const querySchema = z.object({
  id: z.string().optional(),
  route: z.string().optional(),
  mode: z.string().optional(),
  provider: z.string().optional(),
  status: z.coerce.number().int().optional(),
  since: z.coerce.number().optional(),
  until: z.coerce.number().optional(),
  limit: z.coerce.number().int().positive().max(1000).optional(),
});

/**
 * What happened to each request: one pino line (ids, route, mode, attempts with their
 * failure classes, latency, TTFT, tokens, cost; no prompts, no secrets), Prometheus metrics,
 * and the SQLite request log behind GET /admin/api/requests.
 */
export default definePlugin<TelemetryConfig>({
  name: 'telemetry',
  version: '1.0.0',
  config,
  hooks(api: PluginApi<TelemetryConfig>) {
    const observe = requestMetrics(api.metrics);
    const log = api.db && api.config.request_log ? new RequestLog(api.db, { maxAgeDays: api.config.max_age_days, maxRows: api.config.max_rows, onError: (err) => api.log.error({ err }, 'request log write failed') }) : null;
    if (log) api.onClose(() => log.close());
    telemetryState.set(api, log);
    return {
      postResponse(ctx, o) {
        observe(ctx, o);
        if (log) log.writer.push(toRow(ctx, o));
        if (api.config.log_requests) {
          api.log.info({
            requestId: ctx.id,
            route: ctx.route.model,
            entry: ctx.entry,
            mode: o.routeMode,
            status: o.status,
            provider: o.served?.provider.id ?? null,
            model: o.served?.model ?? null,
            attempts: o.attempts.map((a) => ({ target: a.target, status: a.status, class: a.errorClass, ms: Math.round(a.latencyMs) })),
            latencyMs: Math.round(o.latencyMs * 10) / 10,
            ttftMs: o.ttftMs == null ? null : Math.round(o.ttftMs * 10) / 10,
            stream: o.stream,
            tokens: o.usage ? { input: o.usage.inputTokens, output: o.usage.outputTokens, estimated: o.usage.estimated } : null,
            costUsd: o.costUsd,
            keyId: ctx.summary.keyId,
            error: o.errorCode,
            interrupted: o.interrupted || undefined,
            clientAborted: o.clientAborted || undefined,
          }, 'request');
        }
      },
    };
  },
  routes(app, api) {
    app.get('/requests', async (req, reply) => {
      const log = telemetryState.get(api);
      if (!log) return reply.code(404).send({ error: { message: 'the request log needs a data dir (--data-dir) and telemetry.request_log', type: 'invalid_request_error', param: null, code: 'SY_ERR_NOT_FOUND' } });
      const q = querySchema.safeParse(req.query);
      if (!q.success) return reply.code(400).send({ error: { message: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), type: 'invalid_request_error', param: String(q.error.issues[0]?.path[0] ?? '') || null, code: 'SY_ERR_INVALID_REQUEST' } });
      return { data: await log.query(q.data) };
    });
    registerTrafficRoute(app, api.db, () => telemetryState.get(api));
  },
});

/** hooks() and routes() share the request log through the api object. */
const telemetryState = new WeakMap<object, RequestLog | null>();
