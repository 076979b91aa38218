/**
 * Soak: one arm (default: the full pipeline) at a steady request rate for minutes, RSS read
 * from /proc every few seconds. Json and stream requests alternate in 10 s slices. Memory is
 * "flat" when the last minute's median RSS is within 10% of the second minute's (the first is
 * warm-up: JIT, pools, SQLite page cache) and the fitted slope after warm-up stays under
 * 1 MiB/min.
 *
 *   npm run bench:soak [-- --minutes 10] [--rate 1500] [--connections 16] [--arm switchyard-full] [--no-pin]
 *
 * Writes bench/results/soak-<timestamp>.json and bench/results/soak-latest.md.
 */
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argFlag, argValue } from './args.js';
import { ARMS, ROOT } from './arms.js';
import { chatBody } from './load.js';
import { freePort, killAllChildren, memOf, setupPinning, spawnNode, waitReady } from './proc.js';

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
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

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

  const inMinute = (m: number) => samples.filter((x) => x.atS >= m * 60 && x.atS < (m + 1) * 60).map((x) => x.rssMiB);
  const second = median(inMinute(1));
  const lastMinute = median(samples.filter((x) => x.atS >= samples[samples.length - 1].atS - 60).map((x) => x.rssMiB));
  const afterWarmup = samples.filter((x) => x.atS >= 60);
  const slope = slopePerMin(afterWarmup);
  const growthPct = ((lastMinute - second) / second) * 100;
  const flat = growthPct <= 10 && slope < 1;
  const result = {
    timestamp: new Date().toISOString(),
    arm: arm.name,
    minutes,
    rate,
    connections,
    requests: { ok, notOk: bad },
    rssMiB: { start: samples[0]?.rssMiB, secondMinuteMedian: second, lastMinuteMedian: lastMinute, max: Math.max(...samples.map((x) => x.rssMiB)) },
    growthPct: Math.round(growthPct * 10) / 10,
    slopeMiBPerMin: Math.round(slope * 100) / 100,
    flat,
    samples,
  };
  const md = [
    `Soak ${result.timestamp}: ${arm.label}, ${rate} req/s target over ${connections} connections, ${minutes} min (json and stream alternating every ${SLICE_S} s)`,
    '',
    '| requests ok | not ok | RSS at start | 2nd-minute median | last-minute median | max | growth | slope after warm-up | flat |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|:--|',
    `| ${ok} | ${bad} | ${result.rssMiB.start} MiB | ${second} MiB | ${lastMinute} MiB | ${result.rssMiB.max} MiB | ${result.growthPct}% | ${result.slopeMiBPerMin} MiB/min | ${flat ? 'yes' : 'NO'} |`,
    '',
  ].join('\n');
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `soak-${result.timestamp.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'soak-latest.md'), md);
  process.stdout.write(md);
  clearTimeout(watchdog);
  rmSync(tmp, { recursive: true, force: true });
  return flat ? 0 : 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error)?.stack ?? String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
