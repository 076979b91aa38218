/**
 * The load generators: autocannon for throughput and whole-response latency, and a small
 * undici client loop for streaming time to first token (autocannon only sees whole responses).
 * Every loop here is bounded by a wall-clock duration.
 */
import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Target {
  /** Origin, e.g. http://127.0.0.1:1234 */
  origin: string;
  path: string;
  headers: Record<string, string>;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface CannonResult {
  rps: number;
  latencyMs: Percentiles;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
}

export interface TtftResult {
  ttftMs: Percentiles;
  totalMs: Percentiles;
  ok: number;
  failed: number;
  /** First failure, for the report. */
  firstError: string | null;
  seconds: number;
}

/** Median of the finite values (mean of the middle two for an even count); NaN when there are none. */
export function median(xs: number[]): number {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

export function percentiles(values: Float64Array, n: number): Percentiles {
  if (n === 0) return { count: 0, p50: NaN, p99: NaN, mean: NaN };
  const a = values.slice(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  const at = (q: number) => a[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  return { count: n, p50: at(0.5), p99: at(0.99), mean: sum / n };
}

/** Growable float buffer without per-sample allocation. */
class Samples {
  buf = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = v;
  }
}

let prompt = 'Say hello to the benchmark.';

/** `--prompt-chars N`: a longer user message, to see the work that grows with the body (parse, scans, tokenizer). */
export function setPromptChars(n: number): void {
  if (!(n > 0)) return;
  const words = 'the gateway routes each request across upstream providers and fails over on quota rate limit timeout or outage '.split(' ');
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7) % words.length] + ' ';
  prompt = s.slice(0, n);
}

export function chatBody(stream: boolean): string {
  return JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: prompt }], max_tokens: 16, ...(stream ? { stream: true } : {}) });
}

/**
 * One autocannon run. Latency comes from autocannon's per-response event (a float in ms from
 * process.hrtime) because its own histogram keeps whole milliseconds only, which cannot show
 * sub-millisecond overheads.
 */
export function cannon(t: Target, stream: boolean, connections: number, seconds: number): Promise<CannonResult> {
  const lat = new Samples();
  let ok = 0;
  let non2xx = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: t.origin + t.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...t.headers },
        body: chatBody(stream),
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (err, res) => {
        if (err) return reject(err);
        const secs = (performance.now() - started) / 1000;
        resolve({ rps: ok / secs, latencyMs: percentiles(lat.buf, lat.n), ok, non2xx, errors: res.errors, timeouts: res.timeouts, seconds: secs });
      },
    );
    inst.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        lat.push(ms);
      } else non2xx++;
    });
  });
}

const CONTENT = /"content"\s*:\s*"[^"]/;

/**
 * Streaming time to first token: `connections` workers, each sending stream requests one
 * after another over its own keep-alive connection until `seconds` pass. TTFT is the time from
 * sending the request to the first received bytes holding a non-empty `content` delta.
 */
export async function ttftLoop(t: Target, connections: number, seconds: number): Promise<TtftResult> {
  const pool = new Pool(t.origin, { connections, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000, keepAliveTimeout: 30_000 });
  const body = chatBody(true);
  const headers = { 'content-type': 'application/json', ...t.headers };
  const ttft = new Samples();
  const total = new Samples();
  let failed = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const until = started + seconds * 1000;
  const fail = (why: string) => {
    failed++;
    firstError ??= why;
  };
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: t.path, method: 'POST', headers, body });
        let first = -1;
        let carry = '';
        for await (const c of res.body) {
          const s = carry + (c as Buffer).toString('latin1');
          if (first < 0 && CONTENT.test(s)) first = performance.now() - t0;
          carry = s.length > 64 ? s.slice(-64) : s;
        }
        const end = performance.now() - t0;
        if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
        else if (first < 0) fail('no content frame in the stream');
        else if (!carry.includes('[DONE]')) fail('stream did not end with [DONE]');
        else {
          ttft.push(first);
          total.push(end);
        }
      } catch (err) {
        fail((err as Error).message);
        // Do not spin on a dead server.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    await pool.close().catch(() => {});
  }
  return { ttftMs: percentiles(ttft.buf, ttft.n), totalMs: percentiles(total.buf, total.n), ok: ttft.n, failed, firstError, seconds: (performance.now() - started) / 1000 };
}
