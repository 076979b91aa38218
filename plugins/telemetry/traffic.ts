import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../sdk/plugin.js';
import type { RequestLog } from './request-log.js';

const query = z.object({
  /** The chart's span: per-minute buckets over this many minutes. */
  minutes: z.coerce.number().int().min(1).max(24 * 60).default(60),
  /** The window of the per-target numbers (rate, errors, latency percentiles). */
  window: z.coerce.number().int().min(1).max(24 * 60).default(5),
});

export interface TargetTraffic {
  attempts: number;
  failures: number;
  /** Attempts per minute over the window. */
  rpm: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface TrafficReport {
  now: number;
  since: number;
  bucket_ms: number;
  /** One entry per minute, oldest first, every minute present. */
  buckets: { t: number; total: number; errors: number; modes: Record<string, number>; providers: Record<string, number> }[];
  window_minutes: number;
  /** Per target id, from the attempts of the requests in the window. */
  targets: Record<string, TargetTraffic>;
}

/** Attempt rows read for the per-target window, at most: a busy gateway gets a sample of the newest. */
const MAX_WINDOW_ROWS = 5_000;

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return Math.round(sorted[i] * 10) / 10;
}

/** Traffic by minute, route mode and provider, and per-target rates and latency, from the request log. */
export async function trafficReport(db: Db, minutes: number, windowMinutes: number, now = Date.now()): Promise<TrafficReport> {
  const bucket = 60_000;
  const end = Math.floor(now / bucket) * bucket;
  const since = end - (minutes - 1) * bucket;
  const rows = await db.all<{ m: number; mode: string; provider: string | null; n: number; errors: number }>(
    'SELECT ts / 60000 AS m, route_mode AS mode, provider, COUNT(*) AS n, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors FROM request_log WHERE ts >= ? GROUP BY m, route_mode, provider',
    [since],
  );
  const buckets: TrafficReport['buckets'] = [];
  for (let t = since; t <= end; t += bucket) buckets.push({ t, total: 0, errors: 0, modes: {}, providers: {} });
  for (const r of rows) {
    const b = buckets[Math.floor(r.m) - since / bucket];
    if (!b) continue;
    const provider = r.provider ?? '(none)';
    b.total += r.n;
    b.errors += r.errors;
    b.modes[r.mode] = (b.modes[r.mode] ?? 0) + r.n;
    b.providers[provider] = (b.providers[provider] ?? 0) + r.n;
  }

  const windowStart = now - windowMinutes * 60_000;
  const recent = await db.all<{ attempts: string }>('SELECT attempts FROM request_log WHERE ts >= ? ORDER BY ts DESC LIMIT ?', [windowStart, MAX_WINDOW_ROWS]);
  const per = new Map<string, { attempts: number; failures: number; latencies: number[] }>();
  for (const r of recent) {
    let list: { target?: string; errorClass?: string | null; status?: number | null; latencyMs?: number }[];
    try {
      list = JSON.parse(r.attempts);
    } catch {
      continue;
    }
    for (const a of list) {
      if (!a.target) continue;
      let s = per.get(a.target);
      if (!s) per.set(a.target, (s = { attempts: 0, failures: 0, latencies: [] }));
      s.attempts++;
      if (a.errorClass) s.failures++;
      else if (typeof a.latencyMs === 'number') s.latencies.push(a.latencyMs);
    }
  }
  const targets: Record<string, TargetTraffic> = {};
  for (const [id, s] of per) {
    s.latencies.sort((x, y) => x - y);
    targets[id] = { attempts: s.attempts, failures: s.failures, rpm: Math.round((s.attempts / windowMinutes) * 10) / 10, p50_ms: percentile(s.latencies, 0.5), p95_ms: percentile(s.latencies, 0.95) };
  }
  return { now, since, bucket_ms: bucket, buckets, window_minutes: windowMinutes, targets };
}

/** GET /admin/api/traffic?minutes=60&window=5 (mounted under the admin guard with the telemetry routes). */
export function registerTrafficRoute(app: FastifyInstance, db: Db | null, log: () => RequestLog | null | undefined): void {
  app.get('/traffic', async (req, reply) => {
    const requestLog = log();
    if (!db || !requestLog) return reply.code(404).send({ error: { message: 'traffic needs the request log: a data dir (--data-dir) and telemetry.request_log', type: 'invalid_request_error', param: null, code: 'SY_ERR_NOT_FOUND' } });
    const q = query.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: { message: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), type: 'invalid_request_error', param: String(q.error.issues[0]?.path[0] ?? '') || null, code: 'SY_ERR_INVALID_REQUEST' } });
    await requestLog.writer.flush();
    return trafficReport(db, q.data.minutes, q.data.window);
  });
}
