/**
 * What the two rows a request leaves in the embedded store cost: a request-log row (telemetry)
 * and a capture (policy input, decision, outcome), written the way the gateway writes them
 * (RequestLog and CaptureRecorder over BatchWriter, 64-row batches), to a fresh data dir.
 * Reports CPU µs a row of all threads (the sqlite3 binding on the event loop, SQLite on libuv's
 * pool) and of the event loop alone, best of a few rounds.
 *
 *   taskset -c 1 node dist/bench/store.js [rows]     (from the repository root; pin for steadier figures)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Db } from '../core/store/db.js';
import { RequestLog, toRow } from '../plugins/telemetry/request-log.js';
import { CaptureRecorder } from '../policies/capture/recorder.js';
import type { Outcome, RequestContext } from '../core/pipeline/context.js';
import { sampleInput } from './sandbox.js';

const BATCH = 64;
/** Whole batches: the rows asked for, rounded up. */
const ROWS = Math.ceil(Number(process.argv[2] ?? 20_000) / BATCH) * BATCH;
const ROUNDS = 3;

/** A served two-candidate request as the pipeline hands it to postResponse. */
function request(i: number): { ctx: RequestContext; outcome: Outcome } {
  const input = sampleInput(i);
  const served = { id: input.candidates[0]!.id, provider: { id: input.candidates[0]!.provider }, model: input.candidates[0]!.model };
  const attempts = [{ n: 1, target: served.id, provider: served.provider.id, model: served.model, status: 200, errorClass: null, latencyMs: 12.3 + (i % 7), message: null }];
  const ctx = {
    id: `0194d3a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
    receivedAt: 1_700_000_000_000 + i,
    entry: 'openai.chat',
    route: { model: input.request.model },
    summary: input.request,
    body: { model: input.request.model, messages: [{ role: 'user', content: 'hello' }] },
    plan: { candidates: input.candidates, reason: 'route order', maxAttempts: 3, hedgeAfterMs: null },
    state: { capture: JSON.stringify(input) },
  } as unknown as RequestContext;
  const outcome = {
    status: 200, ok: true, routeMode: 'direct', served, attempts, usage: { inputTokens: 1200, outputTokens: 40, estimated: false },
    latencyMs: 14.56 + (i % 5), ttftMs: 13.2, stream: false, errorCode: null, errorClass: null, interrupted: false, clientAborted: false, lastFailure: null, costUsd: 0.0000123,
  } as unknown as Outcome;
  return { ctx, outcome };
}

async function round(kind: 'request log' | 'capture'): Promise<{ cpu: number; loop: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-store-'));
  const db = await Db.open(dir);
  const log = new RequestLog(db, { maxAgeDays: 7, maxRows: 1_000_000, onError: (err) => { throw err; } });
  const capture = new CaptureRecorder(db, { enabled: true, prompts: false, fallback_bodies: 0, max_rows: 1_000_000, max_age_days: 14 }, pino({ level: 'silent' }));
  const reqs = Array.from({ length: BATCH }, (_, i) => request(i));
  let loopNs = 0n;
  const c0 = process.cpuUsage();
  for (let done = 0; done < ROWS; done += BATCH) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) {
      const r = reqs[i]!;
      (r.ctx as { id: string }).id = `0194d3a0-0000-7000-8000-${String(done + i).padStart(12, '0')}`;
      if (kind === 'request log') log.writer.push(toRow(r.ctx, r.outcome));
      else capture.record(r.ctx, r.outcome);
    }
    loopNs += process.hrtime.bigint() - t;
    await (kind === 'request log' ? log.writer.flush() : capture.writer.flush());
  }
  const c = process.cpuUsage(c0);
  await log.close();
  await capture.close();
  const table = kind === 'request log' ? 'request_log' : 'captures';
  const n = (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n;
  if (n !== ROWS) throw new Error(`${table}: ${n} rows written, expected ${ROWS}`);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { cpu: (c.user + c.system) / ROWS, loop: Number(loopNs) / 1000 / ROWS };
}

console.log(`store cost per row, ${ROWS} rows in ${BATCH}-row batches, best of ${ROUNDS} rounds (node ${process.version})`);
for (const kind of ['request log', 'capture'] as const) {
  const rs: { cpu: number; loop: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) rs.push(await round(kind));
  const best = rs.reduce((a, b) => (b.cpu < a.cpu ? b : a));
  console.log(`${kind.padEnd(12)} CPU ${best.cpu.toFixed(1)} µs a row (all threads), event loop ${best.loop.toFixed(1)} µs a row   rounds: ${rs.map((r) => r.cpu.toFixed(1)).join(', ')}`);
}
