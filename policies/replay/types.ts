/**
 * Dry-run types: what a replay reads (captures, in pages), who decides (deciders) and what it
 * reports. Plain data only, since pages, deciders and partial results cross worker boundaries.
 */
import type { PolicyInput } from '../../sdk/types.js';
import { RevisionError } from '../revisions/store.js';

/** The dry-run report of DESIGN.md (`--json` and the admin API), exactly this shape. */
export interface DryRunReport {
  total: number;
  /** Decisions whose first target differs from the baseline's. */
  changed: number;
  changed_share: number;
  /** Share (0..1) of first targets per provider id, baseline → candidate. `(none)`: no target left (see `--down`). */
  shift: Record<string, { before: number; after: number }>;
  cost: { before_usd: number; after_usd: number; delta_usd: number };
  /** Candidate decisions that threw, ran out of memory or returned junk (served in the static order instead). */
  errors: number;
  /** Candidate decisions past the sandbox deadline (served in the static order instead). */
  timeouts: number;
  /** Candidate decision time in the sandbox, µs (0 when the candidate is the static order). */
  decision_us: { p50: number; p99: number };
}

/** The provider key used in `shift` for decisions left with no target at all. */
export const NO_TARGET = '(none)';

/**
 * Who decides, resolved: a compiled policy, the route's static order (the captured candidates'
 * order, i.e. what the gateway serves with no policy), or the decision recorded at capture time.
 */
export type Decider =
  | { kind: 'policy'; js: string; label: string; revision: string | null }
  | { kind: 'static'; label: string }
  | { kind: 'recorded'; label: string };

export const RECORDED: Decider = { kind: 'recorded', label: 'recorded decisions' };
export const STATIC: Decider = { kind: 'static', label: 'static route order (no policy)' };

/** What replay needs of a Capture; a full Capture (policies/capture/types.ts) is one. */
export interface ReplayCapture {
  ts?: number;
  input: PolicyInput;
  decision: { order: string[] | null };
  outcome: { inputTokens: number | null; outputTokens: number | null };
}

/** A captures row as read for replay: input as stored (JSON text) and only the fields replay uses. */
export interface CaptureRow {
  input: string;
  /** JSON text of decision.order. */
  order: string | null;
  it: number | null;
  ot: number | null;
}

/** A page of captures in whichever form its source has them, so the main thread parses nothing. */
export type ReplayPage =
  | { kind: 'rows'; rows: CaptureRow[] }
  | { kind: 'lines'; lines: string[]; firstLine: number }
  | { kind: 'captures'; captures: ReplayCapture[] };

export interface CaptureSource {
  pages(): AsyncIterable<ReplayPage>;
  /** How many captures (or lines) the pages hold, when known up front: progress and worker choice. */
  readonly total: number | null;
  /** Where they come from, for messages. */
  readonly label: string;
}

/** Per-replayer sums; merged across workers into the report. */
export interface ReplayPartial {
  total: number;
  changed: number;
  before: Record<string, number>;
  after: Record<string, number>;
  costBefore: number;
  costAfter: number;
  errors: number;
  timeouts: number;
  /** Candidate decision times (µs), one per decision the candidate policy made. */
  us: Float64Array;
}

/** A dry-run that cannot run: unknown revision, a policy that does not compile or load, bad captures. */
export class DryRunError extends RevisionError {
  constructor(message: string, status = 400) {
    super(message, status);
    this.name = 'DryRunError';
  }
}
