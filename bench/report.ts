/** Result shapes, derived numbers (added latency, ratios, targets) and the printed table. */
import type { CannonResult, TtftResult } from './load.js';
import type { CpuUse } from './proc.js';

/** A cell is flagged noisy when other processes used more than this share of a CPU during it. */
export const NOISY_OTHER_PCT = 15;

/** One measurement of one cell in one round. */
export interface Round {
  cannon: CannonResult;
  ttft: TtftResult | null;
  cpu: CpuUse;
  /** Connections and requests the fake upstream accepted during the cell (autocannon + TTFT client). */
  upstream: { connections: number; requests: number };
}

/** A cell as reported: medians over its rounds (the raw rounds are kept). */
export interface Cell {
  mode: 'json' | 'stream';
  connections: number;
  cannon: CannonResult;
  ttft: TtftResult | null;
  /** p50 latency minus direct's p50 for the same mode and connections (ms). */
  addedP50Ms: number | null;
  /** TTFT p50 minus direct's TTFT p50 (ms). */
  addedTtftP50Ms: number | null;
  /** CPU use during the autocannon window (percent of one CPU), median over rounds. */
  cpu: CpuUse | null;
  /** Server CPU time per request (µs): server CPU % over req/s. Independent of the shared upstream's cost. */
  cpuUsPerReq: number | null;
  /** Best round of each number (max req/s, min p50/p99/TTFT, min CPU µs/req): the least disturbed estimate on a shared machine. */
  best: { rps: number; p50: number; p99: number; ttftP50: number | null; cpuUsPerReq: number | null };
  /** Summed over rounds: upstream connections opened and requests served during the cell. */
  upstream: { connections: number; requests: number };
  rounds: Round[];
}

export interface ArmResult {
  name: string;
  label: string;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  note?: string;
  pid?: number | null;
  cpusAllowed?: string | null;
  /** Peak RSS over the server's whole life (boot + warm-up + all rounds): VmHWM, KiB. */
  peakRssKiB?: number | null;
  /** RSS at the end of the run, KiB. */
  rssAfterKiB?: number | null;
  /** Modes not measured, with the reason (e.g. the arm's stream path fails). */
  skipped?: Partial<Record<'json' | 'stream', string>>;
  /** /proc/loadavg before and after the arm. */
  loadavg?: { before: string; after: string };
  cells: Cell[];
}

export interface TargetCheck {
  name: string;
  target: string;
  /** From the medians over rounds: the verdict uses this. */
  value: number | null;
  /** From each arm's best round. */
  best: number | null;
  pass: boolean | null;
  note?: string;
}

export interface BenchResult {
  version: 1;
  timestamp: string;
  quick: boolean;
  machine: { nproc: number; cpuModel: string; node: string; kernel: string };
  pinning: string;
  durations: { warmupS: number; measureS: number; ttftS: number; rounds: number; rewarmS?: number };
  /** Size of the request bodies sent. */
  requestBytes: { json: number; stream: number };
  connections: number[];
  loadavg: { before: string; after: string };
  /** Per round: outside CPU use (percent of a CPU) when the round started, after waiting for quiet. */
  quietWaits: { round: number; otherPct: number }[];
  arms: ArmResult[];
  /** Ratios from the medians over rounds, and from the best round of each arm. */
  ratios: { median: Record<string, number | null>; best: Record<string, number | null> };
  targets: TargetCheck[];
  notMeasured: string[];
}

export function cellOf(a: ArmResult | undefined, mode: 'json' | 'stream', c: number): Cell | undefined {
  return a?.status === 'ok' ? a.cells.find((x) => x.mode === mode && x.connections === c) : undefined;
}

/** Fill addedP50Ms / addedTtftP50Ms from the direct arm. */
export function addDeltas(arms: ArmResult[]): void {
  const direct = arms.find((a) => a.name === 'direct');
  for (const a of arms) {
    for (const c of a.cells) {
      const d = cellOf(direct, c.mode, c.connections);
      c.addedP50Ms = d ? c.cannon.latencyMs.p50 - d.cannon.latencyMs.p50 : null;
      c.addedTtftP50Ms = d?.ttft && c.ttft && c.ttft.ok ? c.ttft.ttftMs.p50 - d.ttft.ttftMs.p50 : null;
    }
  }
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b);

export const SWITCHYARD_ARMS = ['switchyard-routing', 'switchyard-plugins', 'switchyard-capture', 'switchyard-full'];

type Stat = 'median' | 'best';

function ratiosFor(arms: ArmResult[], hi: number, lo: number, stat: Stat): Record<string, number | null> {
  const by = (n: string) => arms.find((a) => a.name === n);
  const cell = (n: string, mode: 'json' | 'stream', c: number) => cellOf(by(n), mode, c);
  const rps = (n: string, mode: 'json' | 'stream', c: number) => (stat === 'median' ? cell(n, mode, c)?.cannon.rps : cell(n, mode, c)?.best.rps);
  const cpuUs = (n: string, mode: 'json' | 'stream', c: number) => (stat === 'median' ? cell(n, mode, c)?.cpuUsPerReq : cell(n, mode, c)?.best.cpuUsPerReq);
  const p50 = (n: string, c: number) => (stat === 'median' ? cell(n, 'json', c)?.cannon.latencyMs.p50 : cell(n, 'json', c)?.best.p50);
  const ttft = (n: string, c: number) => (stat === 'median' ? cell(n, 'stream', c)?.ttft?.ttftMs.p50 : cell(n, 'stream', c)?.best.ttftP50);
  const minus = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : a - b);
  const added = (n: string, c: number) => minus(p50(n, c), p50('direct', c));
  const r: Record<string, number | null> = {};
  for (const s of SWITCHYARD_ARMS) {
    for (const mode of ['json', 'stream'] as const) {
      r[`${s}/floor rps @${hi} ${mode}`] = ratio(rps(s, mode, hi), rps('floor', mode, hi));
      r[`${s}/portkey rps @${hi} ${mode}`] = ratio(rps(s, mode, hi), rps('portkey', mode, hi));
    }
    r[`${s}/floor added p50 @${lo} json`] = ratio(added(s, lo), added('floor', lo));
    for (const mode of ['json', 'stream'] as const) r[`${s}/floor server CPU \u00b5s per request @${hi} ${mode}`] = ratio(cpuUs(s, mode, hi), cpuUs('floor', mode, hi));
    r[`${s} added p50 @${lo} json (ms)`] = added(s, lo);
    r[`${s} TTFT added vs direct @${lo} (ms)`] = minus(ttft(s, lo), ttft('direct', lo));
  }
  r[`floor added p50 @${lo} json (ms)`] = added('floor', lo);
  r[`floor/portkey rps @${hi} json`] = ratio(rps('floor', 'json', hi), rps('portkey', 'json', hi));
  return r;
}

export function computeRatios(arms: ArmResult[], hi: number, lo: number): { ratios: BenchResult['ratios']; targets: TargetCheck[] } {
  const ratios = { median: ratiosFor(arms, hi, lo, 'median'), best: ratiosFor(arms, hi, lo, 'best') };
  const check = (name: string, target: string, key: string, ok: (v: number) => boolean, note?: string): TargetCheck => {
    const value = ratios.median[key] ?? null;
    return { name, target, value, best: ratios.best[key] ?? null, pass: value == null ? null : ok(value), ...(note ? { note } : {}) };
  };
  const targets: TargetCheck[] = [
    check(`routing only: req/s @${hi} vs floor (json)`, '>= 0.8x', `switchyard-routing/floor rps @${hi} json`, (v) => v >= 0.8),
    check(`routing only: req/s @${hi} vs floor (stream)`, '>= 0.8x', `switchyard-routing/floor rps @${hi} stream`, (v) => v >= 0.8, 'the issue states the target for throughput in general; stream shown too'),
    check(`4 plugins+capture: req/s @${hi} vs floor (json)`, '>= 0.7x', `switchyard-capture/floor rps @${hi} json`, (v) => v >= 0.7),
    check(`4 plugins+capture: req/s @${hi} vs Portkey (json)`, '>= 10x', `switchyard-capture/portkey rps @${hi} json`, (v) => v >= 10),
    check(`4 plugins, no capture (reference): req/s @${hi} vs floor (json)`, '>= 0.7x', `switchyard-plugins/floor rps @${hi} json`, (v) => v >= 0.7, 'the issue\u2019s target is for plugins+capture; this isolates the plugins'),
    check(`4 plugins, no capture (reference): req/s @${hi} vs Portkey (json)`, '>= 10x', `switchyard-plugins/portkey rps @${hi} json`, (v) => v >= 10),
    check(`full (+policy): req/s @${hi} vs floor (json)`, '>= 0.5x', `switchyard-full/floor rps @${hi} json`, (v) => v >= 0.5),
  ];
  for (const s of SWITCHYARD_ARMS) {
    const fa = ratios.median[`floor added p50 @${lo} json (ms)`];
    const sa = ratios.median[`${s} added p50 @${lo} json (ms)`];
    // The absolute numbers too: at ~0.2 ms the ratio of two small numbers is noisy.
    targets.push(check(`${s}: added p50 @${lo} vs the floor's added (json)`, '<= 1.5x', `${s}/floor added p50 @${lo} json`, (v) => v <= 1.5, fa != null && sa != null ? `floor adds ${fa.toFixed(3)} ms, ${s} ${sa.toFixed(3)} ms` : undefined));
    targets.push(check(`${s}: TTFT added vs direct @${lo}`, '<= 1 ms', `${s} TTFT added vs direct @${lo} (ms)`, (v) => v <= 1));
  }
  return { ratios, targets };
}

// ---------------------------------------------------------------- formatting

const f = (v: number | null | undefined, d = 2) => (v == null || !Number.isFinite(v) ? '-' : v.toFixed(d));
const fi = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '-' : Math.round(v).toLocaleString('en-US'));
const mib = (kib: number | null | undefined) => (kib == null ? '-' : (kib / 1024).toFixed(0));
const signed = (v: number | null | undefined, d = 3) => (v == null || !Number.isFinite(v) ? '-' : (v >= 0 ? '+' : '') + v.toFixed(d));

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [line(rows[0]), '|' + w.map((n, i) => (i < 3 ? ':' : '-') + '-'.repeat(n) + (i < 3 ? '-' : ':')).join('|') + '|', ...rows.slice(1).map(line)].join('\n');
}

/** Markdown: the side-by-side table, unavailable arms, ratios and targets. */
export function renderMarkdown(r: BenchResult): string {
  const rows: string[][] = [['arm', 'mode', 'conns', 'req/s', 'p50 ms', 'p99 ms', '+p50 vs direct ms', 'TTFT p50 ms', 'TTFT p99 ms', '+TTFT ms', 'errors', 'peak RSS MiB', 'server CPU %', 'CPU µs/req', 'other CPU %']];
  let noisy = false;
  for (const a of r.arms) {
    if (a.status !== 'ok') continue;
    for (const c of a.cells) {
      const errs = c.cannon.errors + c.cannon.non2xx + c.cannon.timeouts + (c.ttft?.failed ?? 0);
      rows.push([
        a.label,
        c.mode,
        String(c.connections),
        fi(c.cannon.rps),
        f(c.cannon.latencyMs.p50, 3),
        f(c.cannon.latencyMs.p99, 3),
        a.name === 'direct' ? '0' : signed(c.addedP50Ms),
        c.ttft ? f(c.ttft.ttftMs.p50, 3) : '',
        c.ttft ? f(c.ttft.ttftMs.p99, 3) : '',
        c.ttft ? (a.name === 'direct' ? '0' : signed(c.addedTtftP50Ms)) : '',
        String(errs),
        mib(a.peakRssKiB),
        c.cpu ? f(a.name === 'direct' ? c.cpu.upstreamPct : c.cpu.serverPct, 0) : '-',
        a.name === 'direct' ? (c.cpu?.upstreamPct != null && c.cannon.rps > 0 ? f(((c.cpu.upstreamPct / 100) * 1e6) / c.cannon.rps, 0) : '-') : f(c.cpuUsPerReq, 0),
        c.cpu ? f(c.cpu.otherPct, 0) + (c.cpu.otherPct > NOISY_OTHER_PCT ? ' *' : '') : '-',
      ]);
      if (c.cpu && c.cpu.otherPct > NOISY_OTHER_PCT) noisy = true;
    }
  }
  const out: string[] = [table(rows)];
  out.push(
    '',
    'server CPU % = the measured server process (for direct: the fake upstream), percent of one CPU, during the autocannon window; ' +
      'CPU µs/req = that CPU time divided by req/s: the server\u2019s own cost per request, whatever the upstream costs; ' +
      'other CPU % = everything on the machine that is not the load generator, the fake upstream or the measured server.' +
      (noisy ? ` * = other processes used more than ${NOISY_OTHER_PCT}% of a CPU during that cell: treat it as noisy.` : ''),
  );
  // Keep-alive check: after warm-up a gateway should reuse its upstream connections.
  for (const a of r.arms) {
    if (a.status !== 'ok' || a.name === 'direct') continue;
    for (const c of a.cells) {
      // The TTFT client and autocannon open their own connections to the gateway, not to the upstream.
      // A pool may legitimately reopen up to `connections` sockets per round after idling between rounds.
      const allowed = 2 * c.connections * c.rounds.length + c.upstream.requests / 100;
      if (c.upstream.requests > 0 && c.upstream.connections > allowed) {
        out.push('', `- ${a.label} ${c.mode} c=${c.connections}: opened ${c.upstream.connections} upstream connections for ${c.upstream.requests} upstream requests over ${c.rounds.length} round(s): keep-alive is not holding.`);
      }
    }
  }
  const down = r.arms.filter((a) => a.status !== 'ok' || a.skipped);
  if (down.length) {
    out.push('');
    for (const a of down) {
      if (a.status !== 'ok') out.push(`- **${a.label}** (${a.name}): ${a.status}: ${a.reason}`);
      for (const [mode, why] of Object.entries(a.skipped ?? {})) out.push(`- **${a.label}** (${a.name}): ${mode} not measured: ${why}`);
    }
  }
  out.push('', 'peak RSS = VmHWM of the server process over its whole life (boot, warm-up, all rounds); RSS at the end: ' + r.arms.filter((a) => a.status === 'ok').map((a) => `${a.name} ${mib(a.rssAfterKiB)} MiB`).join(', ') + '.');
  out.push('', '| ratio (Switchyard arm / other) | median of rounds | best round |', '|:--|--:|--:|');
  for (const [k, v] of Object.entries(r.ratios.median)) {
    if (k.endsWith('(ms)')) continue;
    const b = r.ratios.best[k];
    if (v != null || b != null) out.push(`| ${k} | ${f(v, 2)}x | ${f(b, 2)}x |`);
  }
  out.push('', '| target (issue 9) | wanted | median of rounds | best round | verdict (median) |', '|:--|:--|--:|--:|:--|');
  for (const t of r.targets) {
    const fmt = (v: number | null) => (t.target.includes('ms') ? (v == null ? '-' : `${signed(v)} ms`) : v == null ? '-' : `${f(v, 2)}x`);
    out.push(`| ${t.name} | ${t.target} | ${fmt(t.value)} | ${fmt(t.best)} | ${t.pass == null ? 'n/a (arm not measured)' : t.pass ? 'PASS' : 'FAIL'}${t.note ? ` (${t.note})` : ''} |`);
  }
  out.push('', 'Not measured by this run: ' + r.notMeasured.join('; ') + '.');
  return out.join('\n');
}

export function renderHeader(r: BenchResult): string {
  return [
    `Switchyard bench ${r.timestamp}${r.quick ? ' (--quick)' : ''}`,
    `machine: ${r.machine.nproc} CPU, ${r.machine.cpuModel}, node ${r.machine.node}, linux ${r.machine.kernel}`,
    `pinning: ${r.pinning}`,
    `method: every server up at once, each in its own process; ${r.durations.warmupS}s warm-up per arm and cell, then ${r.durations.rounds} round(s) of ${r.durations.measureS}s autocannon per cell${r.durations.rewarmS ? ` (each after ${r.durations.rewarmS}s of the same load, discarded)` : ''} (+ ${r.durations.ttftS}s TTFT client for stream), arms interleaved and rotated each round; numbers are medians over rounds; connections ${r.connections.join(' and ')}; loopback only`,
    ...(r.quietWaits.length ? [`before each round the bench waited (at most a bounded time) for outside CPU use < 25%; it was: ${r.quietWaits.map((q) => `${q.otherPct}%`).join(', ')}`] : []),
    `request body: ${r.requestBytes.json} bytes (chat completion, one user message, max_tokens 16); load average before/after: ${r.loadavg.before} / ${r.loadavg.after || '?'}`,
  ].join('\n');
}
