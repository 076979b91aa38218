/**
 * Types shared by policies, plugins and the core. This file is the published contract
 * (`switchyard/sdk`): change it only additively.
 */

/** Why an upstream attempt failed. Drives retry / fallback / fail in the attempt loop. */
export type FailureClass =
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connect_error'
  | 'quota'
  | 'account_auth'
  | 'context_length'
  | 'request_invalid'
  | 'content_filter'
  | 'policy_error';

export interface Price {
  /** USD per 1M input tokens. */
  input: number;
  /** USD per 1M output tokens. */
  output: number;
  /** USD per 1M cached input tokens, when the provider discounts them. */
  cached_input?: number;
}

/** What a policy knows about the request. Never contains prompts or secrets. */
export interface RequestSummary {
  /** Public model name (the Route). */
  model: string;
  /** Free-form tags from `x-switchyard-metadata` (JSON object header) and plugins. */
  metadata: Record<string, string>;
  /** Gateway client key id, or null when the gateway runs without keys. */
  keyId: string | null;
  estimatedInputTokens: number;
  maxOutputTokens: number | null;
  stream: boolean;
  /** `x-switchyard-conversation-id`, when the client sends one. */
  conversationId?: string;
  /** Entry protocol: 'openai.chat' | 'openai.embeddings' | 'anthropic.messages' | 'openai.responses'. */
  entry: string;
}

/** A Target offered to a policy, with its live state. */
export interface Candidate {
  /** Unique target id (stable across restarts): `${route}#${index}:${provider}/${model}`. */
  id: string;
  /** Provider config id. */
  provider: string;
  /** Upstream model name. */
  model: string;
  healthy: boolean;
  coolingDown: boolean;
  /** 0 (dead) .. 1 (perfect). */
  healthScore: number;
  /** Recent latency (EWMA, ms) or null when unknown. */
  latencyMs: number | null;
  price: Price;
  contextWindow: number | null;
  weight: number;
  capabilities: string[];
}

export interface PolicyInput {
  request: RequestSummary;
  candidates: Candidate[];
  /** Milliseconds since epoch, fixed per decision (replayable). */
  now: number;
  /** A number in [0, 1), fixed per decision (replayable). */
  random: number;
}

export interface PolicyDecision {
  /** Candidate ids to try, in order. Ids not among the candidates are invalid. */
  order: string[];
  reason?: string;
  /** Upper bound on upstream attempts for this request. */
  maxAttempts?: number;
  /** Start the next target when the first has not produced a first byte after this many ms. */
  hedgeAfterMs?: number;
}

export interface AttemptSummary {
  /** 1-based attempt number. */
  n: number;
  target: string;
  provider: string;
  model: string;
  status: number | null;
  errorClass: FailureClass | null;
  latencyMs: number;
}

export interface FailureSummary {
  class: FailureClass;
  status: number | null;
  message: string;
  /** Milliseconds the upstream asked us to wait, if it said. */
  retryAfterMs: number | null;
}

export interface OnErrorInput {
  request: RequestSummary;
  attempt: AttemptSummary;
  failure: FailureSummary;
  /** Candidate ids still untried, in plan order. */
  remaining: string[];
  now: number;
  random: number;
}

export type ErrorAction = 'retry' | 'fallback' | 'fail';

export interface OnErrorResult {
  action: ErrorAction;
}
