/**
 * The replay loop: each capture's input through the candidate and the baseline, no provider
 * calls, and running sums for the report. One Replayer per thread (the main thread for small
 * runs, or each worker of a pool), with one warm sandbox per policy decider reused for every
 * capture.
 *
 * What a decision means here mirrors the live gateway (policies/runtime.ts): a policy is not
 * called for a request with no candidates; a policy that throws, times out or returns junk
 * leaves the plan as the plugins made it, which is the captured candidates' order (the
 * "static" order). `--down P` removes P's targets from both plans afterwards, as if P were
 * unreachable: the first target is the first one left.
 */
import type { Candidate, PolicyInput } from '../../sdk/types.js';
import { PolicyLoadError, PolicySandbox, type SandboxOptions, type SandboxResult } from '../sandbox/sandbox.js';
import type { PolicyDecision } from '../../sdk/types.js';
import { type Decider, DryRunError, NO_TARGET, type DryRunReport, type ReplayPage, type ReplayPartial } from './types.js';

export interface ReplayOptions {
  candidate: Decider;
  baseline: Decider;
  /** Provider ids to treat as down. */
  down?: readonly string[];
  /** Skip captures older than this (ms since epoch); applies to pages that carry `ts`. */
  since?: number;
  /** Sandbox limits; the live gateway's defaults when omitted, so timeouts mean the same. */
  sandbox?: SandboxOptions;
}

/**
 * Output allowance for captures with neither recorded output tokens (a failed request) nor a
 * max_tokens: the cost plugin's default (`default_output_tokens`).
 */
export const DEFAULT_OUTPUT_TOKENS = 1024;

/**
 * A timeout is re-run once before it counts, so a GC pause or a busy machine does not read as
 * a policy fault; after this many confirmed timeouts the policy really loops and re-running
 * only doubles the cost.
 */
const CONFIRM_TIMEOUTS = 10;

/** Inline runs give the event loop a turn this often (ms), so a gateway keeps serving. */
const SLICE_MS = 8;

interface Side {
  decider: Decider;
  sb: PolicySandbox | null;
  confirmed: number;
  /** The last call failed: wait for the sandbox to be ready before the next. */
  unsettled: boolean;
}

export class Replayer {
  private total = 0;
  private changed = 0;
  private readonly before = new Map<string, number>();
  private readonly after = new Map<string, number>();
  private costBefore = 0;
  private costAfter = 0;
  private errors = 0;
  private timeouts = 0;
  private us = new Float64Array(4096);
  private nus = 0;
  private readonly down: ReadonlySet<string>;
  private readonly since: number;
  /** Baseline and candidate are the same policy: decide once. */
  private readonly same: boolean;

  private constructor(
    private readonly cand: Side,
    private readonly base: Side,
    opts: ReplayOptions,
    /** Yield to the event loop between slices (inline runs); workers have no one to yield to. */
    private readonly yieldEvery: number,
  ) {
    this.down = new Set(opts.down ?? []);
    this.since = opts.since ?? -Infinity;
    this.same = cand.decider.kind === 'policy' && base.decider.kind === 'policy' && cand.decider.js === base.decider.js;
  }

  /** Loads the deciders' sandboxes. Rejects with DryRunError when a policy cannot be loaded. */
  static async create(opts: ReplayOptions, inline = true): Promise<Replayer> {
    if (opts.candidate.kind === 'recorded') throw new DryRunError('the candidate must be a policy, a revision or active; "recorded" is a baseline only');
    const side = async (d: Decider, role: string): Promise<Side> => {
      if (d.kind !== 'policy') return { decider: d, sb: null, confirmed: 0, unsettled: false };
      try {
        return { decider: d, sb: await PolicySandbox.load(d.js, opts.sandbox), confirmed: 0, unsettled: false };
      } catch (err) {
        if (err instanceof PolicyLoadError) throw new DryRunError(`the ${role} policy (${d.label}) cannot be loaded: ${err.kind}: ${err.message}`, 422);
        throw err;
      }
    };
    const cand = await side(opts.candidate, 'candidate');
    const same = opts.candidate.kind === 'policy' && opts.baseline.kind === 'policy' && opts.candidate.js === opts.baseline.js;
    let base: Side;
    try {
      base = same ? { decider: opts.baseline, sb: null, confirmed: 0, unsettled: false } : await side(opts.baseline, 'baseline');
    } catch (err) {
      cand.sb?.dispose();
      throw err;
    }
    return new Replayer(cand, base, opts, inline ? SLICE_MS : Infinity);
  }

  /** Replays one page; returns how many entries it consumed (filtered ones included). */
  async page(p: ReplayPage): Promise<number> {
    let sliceStart = performance.now();
    const n = p.kind === 'rows' ? p.rows.length : p.kind === 'lines' ? p.lines.length : p.captures.length;
    for (let i = 0; i < n; i++) {
      let input: PolicyInput;
      let recorded: string[] | null;
      let it: number | null;
      let ot: number | null;
      if (p.kind === 'rows') {
        const r = p.rows[i]!;
        input = JSON.parse(r.input) as PolicyInput;
        recorded = r.order === null ? null : (JSON.parse(r.order) as string[]);
        it = r.it;
        ot = r.ot;
      } else {
        let c;
        if (p.kind === 'lines') {
          const line = p.lines[i]!;
          try {
            c = JSON.parse(line);
          } catch {
            throw new DryRunError(`captures line ${p.firstLine + i}: not JSON`);
          }
          if (!isCapture(c)) throw new DryRunError(`captures line ${p.firstLine + i}: not a capture (expected { id, ts, input: { candidates }, decision: { order }, outcome })`);
        } else c = p.captures[i]!;
        if (typeof c.ts === 'number' && c.ts < this.since) continue;
        input = c.input;
        recorded = Array.isArray(c.decision?.order) ? c.decision.order : null;
        it = c.outcome?.inputTokens ?? null;
        ot = c.outcome?.outputTokens ?? null;
      }
      this.one(input, recorded, it, ot);
      if (this.cand.unsettled || this.base.unsettled) await this.settle();
      if ((i & 63) === 63 && performance.now() - sliceStart > this.yieldEvery) {
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
    return n;
  }

  private one(input: PolicyInput, recorded: string[] | null, it: number | null, ot: number | null): void {
    const a = this.decide(this.cand, input, recorded, true);
    const b = this.same ? a : this.decide(this.base, input, recorded, false);
    this.total++;
    if ((a ? a.id : null) !== (b ? b.id : null)) this.changed++;
    const pb = b ? b.provider : NO_TARGET;
    const pa = a ? a.provider : NO_TARGET;
    this.before.set(pb, (this.before.get(pb) ?? 0) + 1);
    this.after.set(pa, (this.after.get(pa) ?? 0) + 1);
    if (a || b) {
      const inTok = it ?? input.request.estimatedInputTokens ?? 0;
      const outTok = ot ?? input.request.maxOutputTokens ?? DEFAULT_OUTPUT_TOKENS;
      if (b) this.costBefore += (inTok * b.price.input + outTok * b.price.output) / 1e6;
      if (a) this.costAfter += (inTok * a.price.input + outTok * a.price.output) / 1e6;
    }
  }

  /** The first target of this side's plan for `input`, after `--down`; null when none is left. */
  private decide(side: Side, input: PolicyInput, recorded: string[] | null, isCandidate: boolean): Candidate | null {
    const cands = input.candidates;
    const d = side.decider;
    if (d.kind === 'recorded') {
      if (recorded) return this.firstOf(recorded, cands);
    } else if (d.kind === 'policy' && cands.length > 0) {
      const sb = side.sb!;
      let r: SandboxResult<PolicyDecision> = sb.selectProvider(input);
      if (!r.ok && r.error === 'timeout' && side.confirmed < CONFIRM_TIMEOUTS) {
        const again = sb.selectProvider(input);
        if (!again.ok && again.error === 'timeout') side.confirmed++;
        r = again;
      }
      if (isCandidate) {
        if (this.nus === this.us.length) {
          const grown = new Float64Array(this.us.length * 2);
          grown.set(this.us);
          this.us = grown;
        }
        this.us[this.nus++] = r.us;
      }
      if (r.ok) return this.firstOf(r.value.order, cands);
      side.unsettled = true;
      if (isCandidate) {
        if (r.error === 'timeout') this.timeouts++;
        else this.errors++;
      }
    }
    // The static order: what the gateway serves with no policy, or around a failed one.
    for (const c of cands) if (!this.down.has(c.provider)) return c;
    return null;
  }

  private firstOf(order: readonly string[], cands: readonly Candidate[]): Candidate | null {
    for (const id of order) {
      for (const c of cands) {
        if (c.id !== id) continue;
        if (!this.down.has(c.provider)) return c;
        break;
      }
    }
    return null;
  }

  /** After a failed call: a sandbox recovering from an OOM or a crash may need a fresh module first. */
  private async settle(): Promise<void> {
    for (const side of [this.cand, this.base]) {
      if (!side.unsettled) continue;
      side.unsettled = false;
      await side.sb?.ready();
    }
  }

  partial(): ReplayPartial {
    return {
      total: this.total,
      changed: this.changed,
      before: Object.fromEntries(this.before),
      after: Object.fromEntries(this.after),
      costBefore: this.costBefore,
      costAfter: this.costAfter,
      errors: this.errors,
      timeouts: this.timeouts,
      us: this.us.slice(0, this.nus),
    };
  }

  dispose(): void {
    this.cand.sb?.dispose();
    this.base.sb?.dispose();
  }
}

function isCapture(c: unknown): c is { ts?: number; input: PolicyInput; decision: { order: string[] | null }; outcome: { inputTokens: number | null; outputTokens: number | null } } {
  if (!c || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  const input = o.input as Record<string, unknown> | undefined;
  return !!input && typeof input === 'object' && Array.isArray(input.candidates) && !!input.request && typeof input.request === 'object' && !!o.decision && typeof o.decision === 'object' && !!o.outcome && typeof o.outcome === 'object';
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Sums partials (one per thread) into the report. */
export function mergeReport(parts: ReplayPartial[]): DryRunReport {
  let total = 0;
  let changed = 0;
  let costBefore = 0;
  let costAfter = 0;
  let errors = 0;
  let timeouts = 0;
  let nus = 0;
  const before = new Map<string, number>();
  const after = new Map<string, number>();
  for (const p of parts) {
    total += p.total;
    changed += p.changed;
    costBefore += p.costBefore;
    costAfter += p.costAfter;
    errors += p.errors;
    timeouts += p.timeouts;
    nus += p.us.length;
    for (const [k, v] of Object.entries(p.before)) before.set(k, (before.get(k) ?? 0) + v);
    for (const [k, v] of Object.entries(p.after)) after.set(k, (after.get(k) ?? 0) + v);
  }
  const us = new Float64Array(nus);
  let o = 0;
  for (const p of parts) {
    us.set(p.us, o);
    o += p.us.length;
  }
  us.sort();
  const pct = (q: number) => (nus ? Math.round(us[Math.min(nus - 1, Math.max(0, Math.ceil(q * nus) - 1))]!) : 0);

  const providers = [...new Set([...before.keys(), ...after.keys()])].sort((x, y) => (before.get(y) ?? 0) - (before.get(x) ?? 0) || (after.get(y) ?? 0) - (after.get(x) ?? 0) || (x < y ? -1 : 1));
  const shift: DryRunReport['shift'] = {};
  for (const k of providers) shift[k] = { before: total ? round((before.get(k) ?? 0) / total, 6) : 0, after: total ? round((after.get(k) ?? 0) / total, 6) : 0 };
  const b = round(costBefore, 9);
  const a = round(costAfter, 9);
  return {
    total,
    changed,
    changed_share: total ? round(changed / total, 6) : 0,
    shift,
    cost: { before_usd: b, after_usd: a, delta_usd: round(a - b, 9) },
    errors,
    timeouts,
    decision_us: { p50: pct(0.5), p99: pct(0.99) },
  };
}
