import type { Candidate, FailureClass, PolicyInput } from '../../sdk/types.js';

/** The decision that was made for a request: what replay compares against ("recorded"). */
export interface CapturedDecision {
  order: string[];
  reason: string;
  maxAttempts: number;
  hedgeAfterMs: number | null;
  /** The policy revision that decided, or null for the plugins' / static plan. */
  revision: string | null;
  policyError: string | null;
}

export interface CapturedOutcome {
  status: number;
  routeMode: string;
  served: string | null;
  attempts: { target: string; provider: string; status: number | null; errorClass: FailureClass | null; latencyMs: number }[];
  inputTokens: number | null;
  outputTokens: number | null;
  usageEstimated: boolean;
  costUsd: number | null;
  latencyMs: number;
}

/** One captured request: the routing input exactly as a policy saw it, the decision and the outcome. */
export interface Capture {
  id: string;
  ts: number;
  route: string;
  input: PolicyInput;
  decision: CapturedDecision;
  outcome: CapturedOutcome;
  /** Request/response bodies: only with capture.prompts, or sampled fallback bodies (redacted). */
  bodies?: { request?: unknown; response?: unknown } | null;
}

export type { Candidate };
