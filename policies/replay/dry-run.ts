/**
 * dryRun: replay captures through a candidate and a baseline and report what changes, with no
 * provider calls. Small runs replay on the calling thread (yielding to the event loop between
 * slices); large ones are spread over worker threads, each with its own sandboxes, while this
 * thread only reads pages of captures and hands them out.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SandboxOptions } from '../sandbox/sandbox.js';
import { mergeReport, Replayer, type ReplayOptions } from './engine.js';
import { arraySource } from './source.js';
import { type CaptureSource, type Decider, DryRunError, RECORDED, type DryRunReport, type ReplayCapture, type ReplayPage, type ReplayPartial } from './types.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface DryRunOptions {
  /** A source of pages (policies/replay/source.ts) or captures in memory. */
  captures: CaptureSource | readonly ReplayCapture[];
  candidate: Decider;
  /** Default: the decisions recorded at capture time. */
  baseline?: Decider;
  /** Provider ids to simulate as down. */
  down?: readonly string[];
  /** Skip captures older than this (ms since epoch) where the source did not filter already. */
  since?: number;
  sandbox?: SandboxOptions;
  /** Worker threads: 0 replays on this thread; 'auto' (default) uses workers for large runs. */
  workers?: number | 'auto';
  /** Called as pages finish: entries consumed so far, and the source's total when known. */
  onProgress?: (consumed: number, total: number | null) => void;
}

/** Below this many captures, starting workers costs more than it saves. */
const WORKER_THRESHOLD = 4000;
/** Pages queued per worker: one being replayed, one waiting, so a worker never idles on a read. */
const IN_FLIGHT = 2;

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export async function dryRun(o: DryRunOptions): Promise<DryRunReport> {
  const source: CaptureSource = isSource(o.captures) ? o.captures : arraySource(o.captures);
  const options: ReplayOptions = { candidate: o.candidate, baseline: o.baseline ?? RECORDED, down: o.down ?? [], since: o.since, sandbox: o.sandbox };
  if (options.candidate.kind === 'recorded') throw new DryRunError('the candidate must be a policy, a revision or active; "recorded" is a baseline only');
  const usesPolicy = options.candidate.kind === 'policy' || options.baseline.kind === 'policy';
  const n = o.workers === undefined || o.workers === 'auto' ? (usesPolicy && (source.total ?? 0) >= WORKER_THRESHOLD ? Math.min(4, Math.max(1, availableParallelism())) : 0) : Math.max(0, Math.floor(o.workers));
  const parts = n > 0 ? await pooled(source, options, n, o.onProgress) : null;
  return mergeReport(parts ?? (await inline(source, options, o.onProgress)));
}

function isSource(c: DryRunOptions['captures']): c is CaptureSource {
  return !Array.isArray(c) && typeof (c as CaptureSource).pages === 'function';
}

async function inline(source: CaptureSource, options: ReplayOptions, onProgress: DryRunOptions['onProgress']): Promise<ReplayPartial[]> {
  const r = await Replayer.create(options, true);
  try {
    let consumed = 0;
    for await (const page of source.pages()) {
      consumed += await r.page(page);
      onProgress?.(consumed, source.total);
    }
    return [r.partial()];
  } finally {
    r.dispose();
  }
}

/** One worker and its queue of pages. */
class Lane {
  readonly worker: Worker;
  inFlight = 0;
  /** Set once the worker has said anything: it loaded. */
  spoke = false;
  private waiting: { resolve(m: FromWorker): void; reject(e: Error): void; type: FromWorker['type'] } | null = null;

  constructor(private readonly onDone: (lane: Lane, consumed: number) => void, private readonly onFail: (err: Error, loaded: boolean) => void) {
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (m: FromWorker) => {
      this.spoke = true;
      if (m.type === 'error') {
        this.onFail(new DryRunError(m.message, m.status ?? 500), true);
        return;
      }
      if (m.type === 'done') {
        this.inFlight--;
        this.onDone(this, m.consumed);
        return;
      }
      const w = this.waiting;
      if (w && w.type === m.type) {
        this.waiting = null;
        w.resolve(m);
      }
    });
    this.worker.on('error', (err) => this.onFail(err, this.spoke));
    this.worker.on('exit', (code) => this.onFail(new Error(`replay worker exited with code ${code}`), this.spoke));
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  expect<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve: resolve as (m: FromWorker) => void, reject, type };
    });
  }

  failWaiting(err: Error): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }
}

/** Null when workers cannot start in this process (then the caller replays inline). */
async function pooled(source: CaptureSource, options: ReplayOptions, n: number, onProgress: DryRunOptions['onProgress']): Promise<ReplayPartial[] | null> {
  let failure: { err: Error; loaded: boolean } | null = null;
  let finished = false;
  let consumed = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const lanes: Lane[] = [];
  const onFail = (err: Error, loaded: boolean) => {
    if (finished || failure) return;
    failure = { err, loaded };
    for (const l of lanes) l.failWaiting(err);
    poke();
  };
  const onDone = (_l: Lane, c: number) => {
    consumed += c;
    onProgress?.(consumed, source.total);
    poke();
  };
  const check = () => {
    if (failure) throw failure.err;
  };
  try {
    for (let i = 0; i < n; i++) lanes.push(new Lane(onDone, onFail));
    try {
      await Promise.all(
        lanes.map((l) => {
          const ready = l.expect('ready');
          l.send({ type: 'init', options });
          return ready;
        }),
      );
    } catch (err) {
      const f = failure as { err: Error; loaded: boolean } | null;
      // No worker could even load its script (e.g. .ts sources without a TS loader): replay inline.
      if (f && !f.loaded) {
        process.emitWarning(`replay workers unavailable, replaying on the main thread: ${f.err.message}`);
        return null;
      }
      throw err;
    }

    const slot = async (): Promise<Lane> => {
      for (;;) {
        check();
        let best: Lane | null = null;
        for (const l of lanes) if (l.inFlight < IN_FLIGHT && (!best || l.inFlight < best.inFlight)) best = l;
        if (best) return best;
        await new Promise<void>((r) => (wake = r));
      }
    };
    for await (const page of source.pages()) {
      const lane = await slot();
      lane.inFlight++;
      lane.send({ type: 'page', page: page as ReplayPage });
    }
    while (lanes.some((l) => l.inFlight > 0)) {
      check();
      await new Promise<void>((r) => (wake = r));
    }
    check();
    const partials = await Promise.all(
      lanes.map((l) => {
        const p = l.expect('partial');
        l.send({ type: 'finish' });
        return p;
      }),
    );
    return partials.map((m) => m.partial);
  } finally {
    finished = true;
    await Promise.all(lanes.map((l) => l.worker.terminate().catch(() => 0)));
  }
}
