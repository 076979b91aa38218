/**
 * `npm run bench [-- --quick] [--arms a,b] [--rounds N] [--duration S] [--warmup S] [--rewarm S] [--ttft S] [--prompt-chars N] [--quiet-wait S] [--no-pin] [--keep] [--no-readme]`
 * `node dist/bench/run.js --render bench/results/<file>.json`: print a saved run again (and refresh the README table).
 *
 * One run, side by side: direct calls to a fake upstream, the fastify+undici floor, Switchyard
 * (routing only / plugins+capture / full with a policy) and the Portkey gateway, each server
 * in its own process, at 1 and 32 connections, non-stream and stream.
 *
 * All servers are started first and stay up; then every cell (mode × connections) is measured
 * for every arm in turn, for several rounds, with the arm order rotated each round. Each
 * number reported is the median over rounds. Interleaving keeps a burst of outside load from
 * landing on one arm only, which matters on a small shared machine.
 *
 * Writes bench/results/<timestamp>.json, bench/results/latest.json and latest.md and prints the
 * table; a full run (no --quick, no --arms) also refreshes the table in bench/README.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, request } from 'undici';
import { argFlag, argValue } from './args.js';
import { ARMS, ROOT, Unavailable, type Started } from './arms.js';
import { cannon, chatBody, median, setPromptChars, ttftLoop, type CannonResult, type Percentiles, type Target, type TtftResult } from './load.js';
import { cpuMeter, cpusAllowed, otherCpuPct, freePort, killAllChildren, loadAvg, memOf, runMain, setupPinning, spawnNode, waitReady, type CpuUse } from './proc.js';
import { addDeltas, computeRatios, renderHeader, renderMarkdown, type ArmResult, type BenchResult, type Cell, type Round } from './report.js';

const quick = argFlag('--quick');
const keep = argFlag('--keep');
const only = argValue('--arms')?.split(',').map((s) => s.trim()).filter(Boolean);
const warmupS = Number(argValue('--warmup') ?? (quick ? 0.5 : 2));
const measureS = Number(argValue('--duration') ?? (quick ? 1 : 3));
/**
 * Load of the same arm and cell right before each measured window, discarded (default off).
 * Between two of its cells an arm sits idle for a minute or more while the others are measured,
 * and V8's memory reducer shrinks an idle heap. In a standalone run the capture arm used
 * 250-276 µs a request in a 3 s window after 75 s idle, against 160-187 µs with the memory reducer
 * off. In the full bench a 2 s re-warm did not move that arm, though (see bench/README.md).
 */
const rewarmS = Number(argValue('--rewarm') ?? 0);
const ttftS = Number(argValue('--ttft') ?? (quick ? 1 : 2));
const rounds = Math.max(1, Math.min(20, Number(argValue('--rounds') ?? (quick ? 1 : 3))));
const promptChars = Number(argValue('--prompt-chars') ?? 0);
/** Before each round, wait up to this long for outside CPU use to drop below QUIET_PCT (a shared machine). */
const quietWaitS = Number(argValue('--quiet-wait') ?? (quick ? 0 : 30));
const QUIET_PCT = 25;
setPromptChars(promptChars);
const CONNS = [1, 32];
const LO = CONNS[0];
const HI = CONNS[CONNS.length - 1];
const MODES = ['json', 'stream'] as const;
type Mode = (typeof MODES)[number];

const log = (s: string) => process.stderr.write(s + '\n');

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/** One request of the mode must come back right before that mode is measured; returns why not, or null. */
async function sanity(t: Target, stream: boolean): Promise<string | null> {
  const headers = { 'content-type': 'application/json', ...t.headers };
  const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'sanity' }], ...(stream ? { stream: true } : {}) });
  try {
    const r = await request(t.origin + t.path, { method: 'POST', headers, body, headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await r.body.text();
    const ok = stream ? text.includes('[DONE]') && /"content"\s*:\s*"[^"]/.test(text) : text.includes('"choices"');
    return r.statusCode === 200 && ok ? null : `${stream ? 'stream' : 'non-stream'} probe: HTTP ${r.statusCode} ${text.replace(/\s+/g, ' ').slice(0, 300)}`;
  } catch (err) {
    return `${stream ? 'stream' : 'non-stream'} probe failed: ${(err as Error).message}`;
  }
}

const medP = (ps: Percentiles[]): Percentiles => ({ count: ps.reduce((s, p) => s + p.count, 0), p50: median(ps.map((p) => p.p50)), p99: median(ps.map((p) => p.p99)), mean: median(ps.map((p) => p.mean)) });

/** The reported cell: medians over rounds (counts summed). */
function aggregate(mode: Mode, connections: number, rs: Round[]): Cell {
  const c = rs.map((r) => r.cannon);
  const cannonAgg: CannonResult = {
    rps: median(c.map((x) => x.rps)),
    latencyMs: medP(c.map((x) => x.latencyMs)),
    ok: c.reduce((s, x) => s + x.ok, 0),
    non2xx: c.reduce((s, x) => s + x.non2xx, 0),
    errors: c.reduce((s, x) => s + x.errors, 0),
    timeouts: c.reduce((s, x) => s + x.timeouts, 0),
    seconds: c.reduce((s, x) => s + x.seconds, 0),
  };
  const ts = rs.map((r) => r.ttft).filter((t): t is TtftResult => t !== null);
  const ttftAgg: TtftResult | null = ts.length
    ? { ttftMs: medP(ts.map((t) => t.ttftMs)), totalMs: medP(ts.map((t) => t.totalMs)), ok: ts.reduce((s, t) => s + t.ok, 0), failed: ts.reduce((s, t) => s + t.failed, 0), firstError: ts.find((t) => t.firstError)?.firstError ?? null, seconds: ts.reduce((s, t) => s + t.seconds, 0) }
    : null;
  const cpus = rs.map((r) => r.cpu);
  const cpu: CpuUse = {
    serverPct: cpus[0]?.serverPct == null ? null : median(cpus.map((x) => x.serverPct ?? NaN)),
    upstreamPct: median(cpus.map((x) => x.upstreamPct ?? NaN)),
    loadgenPct: median(cpus.map((x) => x.loadgenPct)),
    otherPct: median(cpus.map((x) => x.otherPct)),
  };
  const upstream = { connections: rs.reduce((n, r) => n + r.upstream.connections, 0), requests: rs.reduce((n, r) => n + r.upstream.requests, 0) };
  const cpuUsPerReq = cpu.serverPct != null && cannonAgg.rps > 0 ? ((cpu.serverPct / 100) * 1e6) / cannonAgg.rps : null;
  const perReq = (r: Round) => (r.cpu.serverPct != null && r.cannon.rps > 0 ? ((r.cpu.serverPct / 100) * 1e6) / r.cannon.rps : NaN);
  const best = {
    rps: Math.max(...c.map((x) => x.rps)),
    p50: Math.min(...c.map((x) => x.latencyMs.p50)),
    p99: Math.min(...c.map((x) => x.latencyMs.p99)),
    ttftP50: ts.length ? Math.min(...ts.map((t) => t.ttftMs.p50)) : null,
    cpuUsPerReq: cpuUsPerReq == null ? null : Math.min(...rs.map(perReq).filter((x) => Number.isFinite(x))),
  };
  return { mode, connections, cannon: cannonAgg, ttft: ttftAgg, addedP50Ms: null, addedTtftP50Ms: null, cpu, cpuUsPerReq, best, upstream, rounds: rs };
}

interface Live {
  res: ArmResult;
  s: Started;
  target: Target;
  rounds: Map<string, Round[]>;
}

/** Print the table and refresh the README's table from `result` (a fresh run, or `--render FILE`). */
function publish(result: BenchResult, writeFiles: boolean): void {
  addDeltas(result.arms);
  Object.assign(result, computeRatios(result.arms, HI, LO));
  const md = renderMarkdown(result);
  process.stdout.write('\n' + renderHeader(result) + '\n\n' + md + '\n');

  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  if (writeFiles) {
    const stamp = result.timestamp.replace(/[:.]/g, '-');
    const json = JSON.stringify(result, null, 2) + '\n';
    writeFileSync(join(dir, `${stamp}.json`), json);
    writeFileSync(join(dir, 'latest.json'), json);
    log(`\nwrote bench/results/${stamp}.json and bench/results/latest.json`);
  }
  writeFileSync(join(dir, 'latest.md'), '```\n' + renderHeader(result) + '\n```\n\n' + md + '\n');

  // A full run refreshes the table in bench/README.md (between the markers).
  if (!result.quick && !only && !promptChars && !argFlag('--no-readme')) {
    const readme = join(ROOT, 'bench/README.md');
    try {
      const text = readFileSync(readme, 'utf8');
      const a = text.indexOf('<!-- latest:start -->');
      const b = text.indexOf('<!-- latest:end -->');
      if (a >= 0 && b > a) {
        const block = '<!-- latest:start -->\n```\n' + renderHeader(result) + '\n```\n\n' + md + '\n';
        writeFileSync(readme, text.slice(0, a) + block + text.slice(b));
        log('updated the table in bench/README.md');
      }
    } catch {
      /* no README yet */
    }
  }
}

async function main(): Promise<number> {
  const renderFile = argValue('--render');
  if (renderFile) {
    // Re-render a saved result with the current report code (no measuring).
    publish(JSON.parse(readFileSync(renderFile, 'utf8')) as BenchResult, false);
    return 0;
  }
  const pin = setupPinning(argFlag('--no-pin'));
  const tmp = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const arms = only ? ARMS.filter((a) => only.includes(a.name)) : [...ARMS];
  if (only && !arms.some((a) => a.name === 'direct')) arms.unshift(ARMS[0]); // deltas need direct

  // Everything is bounded: the whole run gets a wall-clock budget, then children are killed.
  const cellS = (stream: boolean) => measureS + (stream ? ttftS : 0) + 0.5;
  const perRound = arms.length * CONNS.length * (cellS(false) + cellS(true));
  const budgetMs = (120 + arms.length * 40 + arms.length * CONNS.length * 2 * warmupS + rounds * (perRound + arms.length * CONNS.length * 2 * rewarmS + quietWaitS + 2)) * 1.5 * 1000;
  const watchdog = setTimeout(() => {
    log(`bench: over its time budget (${Math.round(budgetMs / 1000)} s): stopping`);
    killAllChildren();
    process.exit(3);
  }, budgetMs);
  watchdog.unref();

  const result: BenchResult = {
    version: 1,
    timestamp: new Date().toISOString(),
    quick,
    machine: { nproc: cpus().length, cpuModel: cpuModel(), node: process.version, kernel: release() },
    pinning: pin.how,
    durations: { warmupS, measureS, ttftS, rounds, rewarmS },
    requestBytes: { json: Buffer.byteLength(chatBody(false)), stream: Buffer.byteLength(chatBody(true)) },
    connections: CONNS,
    loadavg: { before: loadAvg(), after: '' },
    quietWaits: [],
    arms: [],
    ratios: { median: {}, best: {} },
    targets: [],
    notMeasured: ['RSS over a 10-minute soak at steady load (its own command: npm run bench:soak, bench/results/soak-latest.md)', 'policy call p50 inside the sandbox (bench/sandbox.ts measures it: node dist/bench/sandbox.js)'],
  };
  log(renderHeader(result));
  log(`scratch dir: ${tmp}${keep ? '' : ' (removed at the end; --keep keeps it)'}`);

  const upPort = await freePort();
  const up = spawnNode([join(ROOT, 'dist/bench/upstream.js'), '--port', String(upPort)], { pin, logFile: join(tmp, 'upstream.log'), cwd: ROOT });
  const upstream = `http://127.0.0.1:${upPort}`;
  await waitReady(up, upstream + '/v1/models');
  log(`fake upstream: ${upstream} (pid ${up.pid}, CPUs ${cpusAllowed(up.pid) ?? '?'})`);
  // One kept-alive connection for reading the upstream's counters, so reading them opens none.
  const statsClient = new Client(upstream, { pipelining: 1 });
  const upstreamStats = async (): Promise<{ connections: number; requests: number }> => {
    const r = await statsClient.request({ path: '/__stats', method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
    return (await r.body.json()) as { connections: number; requests: number };
  };

  const live: Live[] = [];
  try {
    // 1. Start every arm (each its own pinned process) and check it answers both modes.
    for (const arm of arms) {
      const res: ArmResult = { name: arm.name, label: arm.label, status: 'ok', cells: [] };
      result.arms.push(res);
      let s: Started;
      try {
        s = await arm.start({ pin, upstream, upstreamPid: up.pid, tmp });
      } catch (err) {
        res.status = 'unavailable';
        res.reason = (err instanceof Unavailable ? '' : 'start failed: ') + (err as Error).message.replace(/\s+/g, ' ').slice(0, 600);
        log(`${arm.name}: unavailable: ${res.reason}`);
        continue;
      }
      res.note = s.note;
      res.pid = s.pid;
      res.cpusAllowed = s.pid ? cpusAllowed(s.pid) : null;
      const target: Target = { origin: s.url, path: '/v1/chat/completions', headers: s.headers ?? {} };
      const skipped: Partial<Record<Mode, string>> = {};
      for (const mode of MODES) {
        const bad = await sanity(target, mode === 'stream');
        if (bad) skipped[mode] = bad;
      }
      if (skipped.json && skipped.stream) {
        res.status = 'failed';
        res.reason = `${skipped.json}; ${skipped.stream}`;
        log(`${arm.name}: failed: ${res.reason}`);
        await s.stop();
        continue;
      }
      if (skipped.json || skipped.stream) res.skipped = skipped;
      for (const [m, why] of Object.entries(skipped)) log(`${arm.name}: ${m} not measured: ${why}`);
      log(`${arm.name}: up at ${s.url}${s.pid ? ` (pid ${s.pid}, CPUs ${res.cpusAllowed ?? '?'})` : ''}`);
      live.push({ res, s, target, rounds: new Map() });
    }

    const cells: { mode: Mode; c: number }[] = [];
    for (const mode of MODES) for (const c of CONNS) cells.push({ mode, c });
    const runs = (l: Live, mode: Mode) => !l.res.skipped?.[mode];

    // 2. Warm-up: every arm, every cell, results discarded (JIT, pools, connections).
    log(`\nwarm-up: ${warmupS}s per arm and cell`);
    for (const { mode, c } of cells) for (const l of live) if (runs(l, mode)) await cannon(l.target, mode === 'stream', c, warmupS);

    // 3. Rounds: cells in order, arms interleaved and rotated each round.
    for (let r = 0; r < rounds; r++) {
      if (quietWaitS > 0) {
        const pids = [up.pid, ...live.map((l) => l.s.pid).filter((p): p is number => p != null)];
        const until = Date.now() + quietWaitS * 1000;
        let other = await otherCpuPct(pids, 1000);
        while (other > QUIET_PCT && Date.now() < until) other = await otherCpuPct(pids, 1000);
        result.quietWaits.push({ round: r + 1, otherPct: Math.round(other) });
        log(`\nround ${r + 1}/${rounds} (outside CPU use before it: ${other.toFixed(0)}%${other > QUIET_PCT ? `, still above ${QUIET_PCT}% after waiting ${quietWaitS}s` : ''})`);
      } else log(`\nround ${r + 1}/${rounds}`);
      const order = live.map((_, i) => live[(i + r) % live.length]);
      for (const { mode, c } of cells) {
        for (const l of order) {
          if (!runs(l, mode)) continue;
          const stream = mode === 'stream';
          if (rewarmS > 0) await cannon(l.target, stream, c, rewarmS);
          // A short settle so one arm's tail does not spill into the next arm's window.
          await new Promise((res) => setTimeout(res, 300));
          const st0 = await upstreamStats();
          const meter = cpuMeter(l.s.pid, up.pid);
          const m = await cannon(l.target, stream, c, measureS);
          const cpu = meter();
          const t = stream ? await ttftLoop(l.target, c, ttftS) : null;
          const st1 = await upstreamStats();
          const key = `${mode}/${c}`;
          const list = l.rounds.get(key) ?? [];
          list.push({ cannon: m, ttft: t, cpu, upstream: { connections: st1.connections - st0.connections, requests: st1.requests - st0.requests } });
          l.rounds.set(key, list);
          const errs = m.errors + m.non2xx + m.timeouts;
          log(
            `  ${l.res.name.padEnd(19)} ${mode.padEnd(6)} c=${String(c).padStart(2)} ${Math.round(m.rps).toString().padStart(6)} req/s  p50 ${m.latencyMs.p50.toFixed(3)} p99 ${m.latencyMs.p99.toFixed(3)} ms` +
              (t ? `  TTFT p50 ${t.ttftMs.p50.toFixed(3)} p99 ${t.ttftMs.p99.toFixed(3)} ms` : '') +
              `  cpu srv ${cpu.serverPct?.toFixed(0) ?? '-'}% up ${cpu.upstreamPct?.toFixed(0)}% gen ${cpu.loadgenPct.toFixed(0)}% other ${cpu.otherPct.toFixed(0)}%` +
              (errs || t?.failed ? `  ERRORS ${errs}${t?.failed ? ` ttft-failed ${t.failed} (${t.firstError})` : ''}` : ''),
          );
        }
      }
    }

    // 4. Aggregate and read peak RSS (VmHWM over the process's life: boot + everything).
    for (const l of live) {
      for (const { mode, c } of cells) {
        const rs = l.rounds.get(`${mode}/${c}`);
        if (rs?.length) l.res.cells.push(aggregate(mode, c, rs));
      }
      const mem = l.s.pid ? memOf(l.s.pid) : null;
      l.res.peakRssKiB = mem?.hwmKiB ?? null;
      l.res.rssAfterKiB = mem?.rssKiB ?? null;
      if (l.res.cells.length && l.res.cells.every((c) => c.cannon.ok === 0)) {
        l.res.status = 'failed';
        l.res.reason = 'no successful responses';
      }
    }
  } finally {
    for (const l of live) await l.s.stop();
    await statsClient.close().catch(() => {});
    await up.stop();
  }
  result.loadavg.after = loadAvg();

  publish(result, true);

  clearTimeout(watchdog);
  if (!keep) rmSync(tmp, { recursive: true, force: true });
  return 0;
}

runMain('bench', main);
