/**
 * Soak: one arm (default: the full pipeline) at a steady request rate for minutes, RSS read
 * from /proc every few seconds. Json and stream requests alternate in 10 s slices.
 *
 * RSS under load is a sawtooth (the heap grows until V8 collects it), so single readings and
 * fitted slopes mostly measure where in the tooth they fell. A leak shows in the troughs: memory
 * is "flat" when the lowest RSS of the last two minutes is within 10% of the second minute's
 * (the first minute is warm-up: JIT, pools, SQLite page cache), and so are the peaks.
 *
 *   npm run bench:soak [-- --minutes 10] [--rate 1500] [--connections 16] [--arm switchyard-full] [--no-pin]
 *   node dist/bench/soak.js --render bench/results/soak-<timestamp>.json    (judge a saved run again)
 *
 * Writes bench/results/soak-<timestamp>.json, soak-latest.json and soak-latest.md.
 */
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argFlag, argValue } from './args.js';
import { ARMS, ROOT } from './arms.js';
import { chatBody, median } from './load.js';
import { freePort, killAllChildren, memOf, runMain, setupPinning, spawnNode, waitReady } from './proc.js';

const minutes = Number(argValue('--minutes') ?? 10);
const rate = Number(argValue('--rate') ?? 1500);
const connections = Number(argValue('--connections') ?? 16);
const armName = argValue('--arm') ?? 'switchyard-full';
const SLICE_S = 10;
const SAMPLE_MS = 5000;

interface Sample {
  atS: number;
  rssMiB: number;
}

const log = (s: string) => process.stderr.write(s + '\n');

/** Least-squares slope of RSS over time, MiB per minute. */
function slopePerMin(samples: Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.atS, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.atS - mx) * (s.rssMiB - my);
    den += (s.atS - mx) ** 2;
  }
  return den ? (num / den) * 60 : 0;
}

function slice(url: string, stream: boolean): Promise<{ ok: number; bad: number }> {
  return new Promise((resolve, reject) => {
    let ok = 0;
    let bad = 0;
    const inst = autocannon(
      { url: `${url}/v1/chat/completions`, method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody(stream), connections, pipelining: 1, duration: SLICE_S, overallRate: rate, timeout: 10 },
      (err) => (err ? reject(err) : resolve({ ok, bad })),
    );
    inst.on('response', (_c, status) => (status >= 200 && status < 300 ? ok++ : bad++));
  });
}

async function main(): Promise<number> {
  const saved = argValue('--render');
  if (saved) {
    const r = judge(JSON.parse(readFileSync(saved, 'utf8')) as SoakRun);
    process.stdout.write(render(r));
    return r.flat ? 0 : 1;
  }
  const arm = ARMS.find((a) => a.name === armName);
  if (!arm || arm.name === 'direct') throw new Error(`--arm must be one of ${ARMS.filter((a) => a.name !== 'direct').map((a) => a.name).join(', ')}`);
  const pin = setupPinning(argFlag('--no-pin'));
  const tmp = mkdtempSync(join(tmpdir(), 'switchyard-soak-'));
  const watchdog = setTimeout(() => {
    log('soak: over its time budget: stopping');
    killAllChildren();
    process.exit(3);
  }, (minutes * 60 + 120) * 1000);
  watchdog.unref();

  const upPort = await freePort();
  const up = spawnNode([join(ROOT, 'dist/bench/upstream.js'), '--port', String(upPort)], { pin, logFile: join(tmp, 'upstream.log'), cwd: ROOT });
  const upstream = `http://127.0.0.1:${upPort}`;
  await waitReady(up, upstream + '/v1/models');
  const s = await arm.start({ pin, upstream, upstreamPid: up.pid, tmp });
  if (!s.pid) throw new Error(`${arm.name} has no server process to watch`);
  const pid = s.pid;
  log(`soak: ${arm.label} (pid ${pid}) at ${rate} req/s over ${connections} connections for ${minutes} min; json and stream alternate every ${SLICE_S} s`);

  const samples: Sample[] = [];
  const t0 = Date.now();
  const sample = () => {
    const m = memOf(pid);
    if (m) samples.push({ atS: (Date.now() - t0) / 1000, rssMiB: Math.round((m.rssKiB / 1024) * 10) / 10 });
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  let ok = 0;
  let bad = 0;
  try {
    for (let i = 0; Date.now() - t0 < minutes * 60_000; i++) {
      const r = await slice(s.url, i % 2 === 1);
      ok += r.ok;
      bad += r.bad;
      const last = samples[samples.length - 1];
      if (i % 6 === 5) log(`  ${Math.round((Date.now() - t0) / 1000)} s: RSS ${last?.rssMiB} MiB, ${ok} ok, ${bad} not ok`);
    }
  } finally {
    clearInterval(sampler);
    sample();
    await s.stop();
    await up.stop();
  }

  const result = judge({ timestamp: new Date().toISOString(), arm: arm.name, label: arm.label, minutes, rate, connections, requests: { ok, notOk: bad }, samples });
  const md = render(result);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `soak-${result.timestamp.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'soak-latest.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'soak-latest.md'), md);
  process.stdout.write(md);
  clearTimeout(watchdog);
  rmSync(tmp, { recursive: true, force: true });
  return result.flat ? 0 : 1;
}

interface SoakRun {
  timestamp: string;
  arm: string;
  label: string;
  minutes: number;
  rate: number;
  connections: number;
  requests: { ok: number; notOk: number };
  samples: Sample[];
}

interface MinuteRss {
  minute: number;
  min: number;
  median: number;
  max: number;
}

type Judged = SoakRun & { perMinute: MinuteRss[]; troughGrowthPct: number; peakGrowthPct: number; slopeMiBPerMin: number; flat: boolean };

function judge(run: SoakRun): Judged {
  const s = run.samples;
  const end = s[s.length - 1]?.atS ?? 0;
  const perMinute: MinuteRss[] = [];
  for (let m = 0; m * 60 < end; m++) {
    const x = s.filter((v) => v.atS >= m * 60 && v.atS < (m + 1) * 60).map((v) => v.rssMiB);
    if (x.length) perMinute.push({ minute: m + 1, min: Math.min(...x), median: median(x), max: Math.max(...x) });
  }
  const second = s.filter((v) => v.atS >= 60 && v.atS < 120).map((v) => v.rssMiB);
  const lastTwo = s.filter((v) => v.atS >= Math.max(120, end - 120)).map((v) => v.rssMiB);
  const pct = (a: number, b: number) => Math.round(((a - b) / b) * 1000) / 10;
  const troughGrowthPct = second.length && lastTwo.length ? pct(Math.min(...lastTwo), Math.min(...second)) : NaN;
  const peakGrowthPct = second.length && lastTwo.length ? pct(Math.max(...lastTwo), Math.max(...second)) : NaN;
  const slopeMiBPerMin = Math.round(slopePerMin(s.filter((v) => v.atS >= 60)) * 100) / 100;
  return { ...run, perMinute, troughGrowthPct, peakGrowthPct, slopeMiBPerMin, flat: troughGrowthPct <= 10 && peakGrowthPct <= 10 };
}

function render(r: Judged): string {
  return [
    `Soak ${r.timestamp}: ${r.label}, ${r.rate} req/s target over ${r.connections} connections, ${r.minutes} min (json and stream alternating every ${SLICE_S} s); ${r.requests.ok} requests ok, ${r.requests.notOk} not ok`,
    '',
    '| minute | RSS min MiB | median | max |',
    '|--:|--:|--:|--:|',
    ...r.perMinute.map((m) => `| ${m.minute} | ${m.min} | ${m.median} | ${m.max} |`),
    '',
    `Troughs (lowest RSS, after collections): last two minutes vs the second minute ${r.troughGrowthPct >= 0 ? '+' : ''}${r.troughGrowthPct}%; peaks ${r.peakGrowthPct >= 0 ? '+' : ''}${r.peakGrowthPct}%; fitted slope after warm-up ${r.slopeMiBPerMin} MiB/min (sawtooth-dominated). Flat (both within 10%): ${r.flat ? 'yes' : 'NO'}.`,
    '',
  ].join('\n');
}

runMain('soak', main);
