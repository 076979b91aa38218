import { BatchWriter, type Db, type Outcome, type RequestContext } from '../../sdk/plugin.js';

export interface RequestLogRow {
  id: string;
  ts: number;
  route: string;
  route_mode: string;
  provider: string | null;
  model: string | null;
  status: number;
  error_class: string | null;
  error_code: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  usage_estimated: number;
  cost_usd: number | null;
  attempts: string;
  key_id: string | null;
  stream: number;
  entry: string;
  /** 1: the client left before the answer was complete (the status is what it was sent). */
  client_aborted: number;
  /** 1: the upstream cut a stream after content reached the client. */
  interrupted: number;
}

const COLUMNS = ['id', 'ts', 'route', 'route_mode', 'provider', 'model', 'status', 'error_class', 'error_code', 'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'usage_estimated', 'cost_usd', 'attempts', 'key_id', 'stream', 'entry', 'client_aborted', 'interrupted'] as const;

export function toRow(ctx: RequestContext, o: Outcome): RequestLogRow {
  const last = o.attempts[o.attempts.length - 1];
  return {
    id: ctx.id,
    ts: ctx.receivedAt,
    route: ctx.route.model,
    route_mode: o.routeMode,
    provider: o.served?.provider.id ?? last?.provider ?? null,
    model: o.served?.model ?? last?.model ?? null,
    status: o.status,
    error_class: o.errorClass,
    error_code: o.errorCode,
    latency_ms: Math.round(o.latencyMs * 100) / 100,
    ttft_ms: o.ttftMs == null ? null : Math.round(o.ttftMs * 100) / 100,
    input_tokens: o.usage?.inputTokens ?? null,
    output_tokens: o.usage?.outputTokens ?? null,
    usage_estimated: o.usage?.estimated ? 1 : 0,
    cost_usd: o.costUsd,
    attempts: JSON.stringify(o.attempts.map((a) => ({ n: a.n, target: a.target, provider: a.provider, model: a.model, status: a.status, errorClass: a.errorClass, latencyMs: Math.round(a.latencyMs * 100) / 100, message: a.message }))),
    key_id: ctx.summary.keyId,
    stream: o.stream ? 1 : 0,
    entry: ctx.entry,
    client_aborted: o.clientAborted ? 1 : 0,
    interrupted: o.interrupted ? 1 : 0,
  };
}

/** The request log in SQLite: batched inserts off the hot path, with age and size retention. */
export class RequestLog {
  readonly writer: BatchWriter<RequestLogRow>;
  private readonly retention: NodeJS.Timeout;

  constructor(private readonly db: Db, opts: { maxAgeDays: number; maxRows: number; onError: (err: unknown) => void }) {
    this.writer = new BatchWriter<RequestLogRow>(db, `INSERT OR REPLACE INTO request_log (${COLUMNS.join(',')}) VALUES (${COLUMNS.map(() => '?').join(',')})`, (r) => COLUMNS.map((c) => r[c]), { onError: opts.onError });
    const prune = async () => {
      try {
        await db.run('DELETE FROM request_log WHERE ts < ?', [Date.now() - opts.maxAgeDays * 86_400_000]);
        await db.run('DELETE FROM request_log WHERE id IN (SELECT id FROM request_log ORDER BY ts DESC LIMIT -1 OFFSET ?)', [opts.maxRows]);
      } catch (err) {
        opts.onError(err);
      }
    };
    this.retention = setInterval(() => void prune(), 10 * 60_000);
    this.retention.unref();
  }

  async query(f: { route?: string; mode?: string; provider?: string; status?: number; since?: number; until?: number; id?: string; limit?: number }): Promise<unknown[]> {
    await this.writer.flush();
    const where: string[] = [];
    const params: unknown[] = [];
    const eq = (col: string, v: unknown) => {
      if (v !== undefined && v !== null && v !== '') {
        where.push(`${col} = ?`);
        params.push(v);
      }
    };
    eq('id', f.id);
    eq('route', f.route);
    eq('route_mode', f.mode);
    eq('provider', f.provider);
    eq('status', f.status);
    if (f.since) { where.push('ts >= ?'); params.push(f.since); }
    if (f.until) { where.push('ts <= ?'); params.push(f.until); }
    const rows = await this.db.all<RequestLogRow>(`SELECT * FROM request_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts DESC LIMIT ?`, [...params, Math.min(f.limit ?? 100, 1000)]);
    return rows.map((r) => ({ ...r, stream: !!r.stream, usage_estimated: !!r.usage_estimated, client_aborted: !!r.client_aborted, interrupted: !!r.interrupted, attempts: JSON.parse(r.attempts) as unknown }));
  }

  close(): Promise<void> {
    clearInterval(this.retention);
    return this.writer.flush();
  }
}
