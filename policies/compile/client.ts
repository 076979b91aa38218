/**
 * Main-thread side of the compile worker: one lazily started worker, kept warm between
 * compiles (a cold ts-morph project costs hundreds of ms) and unref'd while idle so it never
 * keeps the process alive. After `idleMs` without a compile it is stopped: a warm TypeScript
 * program holds well over 100 MiB that a gateway serving traffic does not need.
 */
import { Worker } from 'node:worker_threads';
import type { CompileResult } from './types.js';

export interface WorkerRequest {
  id: number;
  source: string;
  fileName: string;
}

export type WorkerReply =
  | { ready: true; id?: undefined }
  | { id: number; result: CompileResult; error?: undefined }
  | { id: number; error: string; result?: undefined };

type Inline = (source: string, fileName: string) => Promise<CompileResult>;

interface Pending {
  req: WorkerRequest;
  resolve(r: CompileResult): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * From dist/ the sibling is worker.js. From source (tap's TS loader, tsx) it is worker.ts,
 * which loads because workers inherit the parent's execArgv, and with it the --import loader.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class CompileClient {
  private worker: Worker | null = null;
  private ready = false;
  /** Set when a worker cannot start in this process (no TS loader): compile inline instead. */
  private unavailable = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly inline: Inline,
    private readonly timeoutMs = 60_000,
    private readonly idleMs = 60_000,
  ) {}

  compile(source: string, fileName: string): Promise<CompileResult> {
    if (this.unavailable) return this.inline(source, fileName);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    return new Promise<CompileResult>((resolve, reject) => {
      const req: WorkerRequest = { id: this.nextId++, source, fileName };
      const timer = setTimeout(() => this.restart(new Error(`policy compile timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref(); // the ref'd worker keeps the process alive while a compile is pending
      this.pending.set(req.id, { req, resolve, reject, timer });
      const w = this.spawn();
      w.ref();
      w.postMessage(req);
    });
  }

  /** Whether a worker is up (it stops after idleMs without a compile). */
  get warm(): boolean {
    return this.worker !== null;
  }

  /** Stops the worker; the next compile starts a new one. */
  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const w = this.worker;
    this.failAll(new Error('policy compiler closed'));
    this.worker = null;
    if (w) await w.terminate();
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    this.worker = w;
    this.ready = false;
    w.on('message', (msg: WorkerReply) => this.onMessage(w, msg));
    w.on('error', (err) => this.onWorkerGone(w, err));
    w.on('exit', (code) => this.onWorkerGone(w, new Error(`policy compile worker exited with code ${code}`)));
    return w;
  }

  private onMessage(w: Worker, msg: WorkerReply): void {
    if (msg.id === undefined) {
      this.ready = true;
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (this.pending.size === 0) {
      w.unref();
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.worker === w && this.pending.size === 0) {
          this.worker = null;
          void w.terminate();
        }
      }, this.idleMs);
      this.idleTimer.unref();
    }
    if (msg.error !== undefined) p.reject(new Error(`policy compiler failed: ${msg.error}`));
    else p.resolve(msg.result);
  }

  private onWorkerGone(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    if (!this.ready) {
      // Never came up (e.g. a .ts worker without a TS loader): degrade to compiling on this
      // thread rather than failing every publish.
      this.unavailable = true;
      process.emitWarning(`policy compile worker unavailable, compiling inline: ${err.message}`);
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const p of waiting) {
        clearTimeout(p.timer);
        this.inline(p.req.source, p.req.fileName).then(p.resolve, p.reject);
      }
      return;
    }
    this.failAll(err);
  }

  /** A stuck compile blocks everything queued behind it: fail them all and start over. */
  private restart(err: Error): void {
    const w = this.worker;
    this.worker = null;
    this.failAll(err);
    void w?.terminate();
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
