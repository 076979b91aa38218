/** Child processes for the bench: pinned spawn, readiness polling, RSS from /proc, bounded stop. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { request } from 'undici';

export interface Pinning {
  enabled: boolean;
  /** CPU list for the load generator (this process: autocannon and the TTFT client). */
  loadCpus: string | null;
  /** CPU list for every server process (fake upstream and the server under test). */
  serverCpus: string | null;
  how: string;
}

/** Load generator on CPU 0, every server on the remaining CPUs, when taskset exists and there are ≥ 2 CPUs. */
export function setupPinning(disabled: boolean): Pinning {
  const n = cpus().length;
  if (disabled) return { enabled: false, loadCpus: null, serverCpus: null, how: 'not pinned (--no-pin)' };
  const has = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!has) return { enabled: false, loadCpus: null, serverCpus: null, how: 'not pinned (taskset not found)' };
  if (n < 2) return { enabled: false, loadCpus: null, serverCpus: null, how: `not pinned (${n} CPU)` };
  const serverCpus = n === 2 ? '1' : `1-${n - 1}`;
  // -a: every thread of this process (libuv pool and V8 helpers are created later and inherit it).
  const self = spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  if (self.status !== 0) return { enabled: false, loadCpus: null, serverCpus: null, how: 'not pinned (taskset on self failed)' };
  return {
    enabled: true,
    loadCpus: '0',
    serverCpus,
    how: `taskset: load generator (this process: autocannon + TTFT client) on CPU 0 via \`taskset -a -cp 0 <pid>\`; fake upstream and the server under test on CPU ${serverCpus} via \`taskset -c ${serverCpus} node …\``,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  pid: number;
  proc: ChildProcess;
  logFile: string;
  exited: { code: number | null; signal: string | null } | null;
  stop(): Promise<void>;
}

const children = new Set<Child>();

/** Spawn `node args…` (pinned when asked) with stdout+stderr to a log file, so the parent's loop never touches its output. */
export function spawnNode(args: string[], opts: { pin: Pinning; logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Child {
  const fd = openSync(opts.logFile, 'a');
  const cmd = opts.pin.enabled ? 'taskset' : process.execPath;
  const argv = opts.pin.enabled ? ['-c', opts.pin.serverCpus!, process.execPath, ...args] : args;
  const proc = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  const child: Child = {
    pid: proc.pid,
    proc,
    logFile: opts.logFile,
    exited: null,
    async stop() {
      children.delete(child);
      if (child.exited) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!child.exited) proc.kill('SIGKILL');
      }, 3000);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      clearTimeout(t);
    },
  };
  proc.once('exit', (code, signal) => (child.exited = { code, signal }));
  children.add(child);
  return child;
}

/** Last action on the way out: kill every child this process started (by pid), nothing else. */
export function killAllChildren(): void {
  for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
  children.clear();
}

export function logTail(file: string, max = 1500): string {
  try {
    const text = readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    return text.slice(-max).trim();
  } catch {
    return '';
  }
}

/** Poll `url` until it answers 2xx, the child exits, or `timeoutMs` passes. */
export async function waitReady(child: Child, url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw new Error(`exited with ${child.exited.code ?? child.exited.signal} before it was ready: ${logTail(child.logFile, 800) || '(no output)'}`);
    try {
      const r = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.dump();
      if (r.statusCode >= 200 && r.statusCode < 300) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`not ready within ${timeoutMs} ms: ${logTail(child.logFile, 800) || '(no output)'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface MemSample {
  rssKiB: number;
  hwmKiB: number;
}

export function memOf(pid: number): MemSample | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+)/.exec(s);
    const rss = /VmRSS:\s+(\d+)/.exec(s);
    if (!hwm || !rss) return null;
    return { rssKiB: Number(rss[1]), hwmKiB: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/** Reset the process's peak RSS (VmHWM) so the next reading is the peak of the next cell only. */
export function resetPeak(pid: number): boolean {
  try {
    if (!existsSync(`/proc/${pid}/clear_refs`)) return false;
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function cpusAllowed(pid: number): string | null {
  try {
    return /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Busy jiffies of all CPUs (user+nice+system+irq+softirq+steal) from /proc/stat. */
function busyJiffies(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] ?? 0);
  } catch {
    return NaN;
  }
}

/** utime+stime of one process (all its threads), in jiffies. */
function procJiffies(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

export interface CpuUse {
  /** Percent of one CPU used over the interval. */
  serverPct: number | null;
  upstreamPct: number | null;
  loadgenPct: number;
  /** Everything else on the machine: other people's work, the kernel's. Noise when high. */
  otherPct: number;
}

/** Start a CPU accounting interval; call the returned function at its end. */
export function cpuMeter(serverPid: number | null, upstreamPid: number): () => CpuUse {
  const HZ = 100; // USER_HZ: /proc reports in 1/100 s on Linux
  const t0 = performance.now();
  const b0 = busyJiffies();
  const s0 = serverPid && serverPid !== upstreamPid ? procJiffies(serverPid) : 0;
  const u0 = procJiffies(upstreamPid);
  const l0 = procJiffies(process.pid);
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const pct = (j: number) => (j / HZ / secs) * 100;
    const db = busyJiffies() - b0;
    const ds = serverPid && serverPid !== upstreamPid ? procJiffies(serverPid) - s0 : 0;
    const du = procJiffies(upstreamPid) - u0;
    const dl = procJiffies(process.pid) - l0;
    return {
      serverPct: serverPid && serverPid !== upstreamPid ? pct(ds) : null,
      upstreamPct: pct(du),
      loadgenPct: pct(dl),
      otherPct: Math.max(0, pct(db - ds - du - dl)),
    };
  };
}

export function loadAvg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/** Percent of a CPU used over `ms` by everything except `pids` and this process. */
export async function otherCpuPct(pids: number[], ms: number): Promise<number> {
  const own = () => pids.reduce((s, p) => s + (procJiffies(p) || 0), 0) + procJiffies(process.pid);
  const t0 = performance.now();
  const b0 = busyJiffies();
  const o0 = own();
  await new Promise((r) => setTimeout(r, ms));
  const secs = (performance.now() - t0) / 1000;
  return Math.max(0, ((busyJiffies() - b0 - (own() - o0)) / 100 / secs) * 100);
}

/** Run a bench command: exit with its code; on a signal or a crash, kill every child it started first. */
export function runMain(name: string, main: () => Promise<number>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  }
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${(err as Error)?.stack ?? String(err)}\n`);
      killAllChildren();
      process.exit(1);
    },
  );
}
