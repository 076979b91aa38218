import type { Failure } from '../attempts/failure.js';
import type { ProviderConfig } from '../config/schema.js';
import type { Target } from '../routing/table.js';

/** What the client spoke: the entry protocol and operation. */
export type Entry = 'openai.chat' | 'openai.embeddings' | 'openai.responses' | 'anthropic.messages';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
  /** True when the upstream did not report usage and the gateway estimated it. */
  estimated: boolean;
}

export interface UpstreamCall {
  path: string;
  body: string;
  /** Per-call headers added to the provider's (e.g. a client's `anthropic-beta` on a passthrough). */
  headers?: Record<string, string>;
}

/** What a stream translator may need to know about the client's request. */
export interface StreamInfo {
  /** The client's body (after preRoute): echoed by translations that need it (Responses). */
  body: Record<string, unknown>;
  /** The gateway's input-token estimate, for protocols that announce usage up front (message_start). */
  estimatedInputTokens: number;
}

/** What one upstream SSE event means for the relay. */
export interface FrameVerdict {
  /** lifecycle: held until content; content: commit and send; done: send and finish; error: fail; skip: drop. */
  kind: 'lifecycle' | 'content' | 'done' | 'error' | 'skip';
  /** Bytes to send to the client (already in the entry protocol's SSE framing). */
  out?: string;
  failure?: Failure;
}

/** Turns an upstream event stream into the client's, one event at a time. */
export interface StreamTranslator {
  frame(event: string | undefined, data: string): FrameVerdict;
  /** The upstream ended. `complete` is false when it ended without its protocol's terminator (a cut). */
  end(): { out: string; complete: boolean };
  /** Reported usage, or an estimate when the upstream sent none. */
  usage(estimatedInputTokens: number): Usage;
  /** The SSE bytes that end a stream which failed after content was sent (no terminator). */
  errorEvent(message: string, code: string): string;
  /**
   * The frames read so far end the answer on the upstream's content filter (finish_reason
   * content_filter / stop_reason refusal). Asked once at commit and once at the end, never per
   * frame. Absent: the translator cannot tell (never filtered).
   */
  contentFiltered?(): boolean;
}

export interface DecodedResponse {
  body: Buffer | string;
  usage: Usage | null;
  /** The upstream refused on content grounds (finish_reason content_filter / stop_reason refusal). */
  contentFiltered: boolean;
}

/** One (entry protocol, provider kind) pair: how a client request becomes an upstream call and back. */
export interface Exchange {
  request(body: Record<string, unknown>, target: Target, clientHeaders?: Record<string, string | string[] | undefined>): UpstreamCall;
  /**
   * Decode a 2xx body into the client's protocol. Throws when the body is not a valid answer
   * (garbage: a server_error). `clientBody` is the client's request (for echo fields).
   */
  response(raw: Buffer, target: Target, publicModel: string, clientBody?: Record<string, unknown>): DecodedResponse;
  stream(target: Target, publicModel: string, includeUsage: boolean, info?: StreamInfo): StreamTranslator;
  /**
   * Re-shape an upstream request-level error body (passed through to the client as is) into
   * the client protocol's error shape. Absent when both sides speak the same protocol.
   */
  errorBody?(status: number, body: Buffer): Buffer;
  /**
   * Resolves the Responses API's server-side state (previous_response_id, conversation, stored
   * prompts, item references): only an exchange that forwards to a native Responses API can.
   * Absent on the bridges to chat completions and Messages, which are stateless; the static plan
   * skips them for a request that relies on that state (core/pipeline/capabilities.ts).
   */
  readonly responsesState?: boolean;
}

/** A provider kind: how to authenticate, classify failures and which entries it can serve. */
export interface ProviderAdapter {
  readonly kind: ProviderConfig['kind'];
  /** Headers added to every upstream call (auth, version). Built once at boot. */
  headers(cfg: ProviderConfig): Record<string, string>;
  classify(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Failure;
  /**
   * A whole 2xx answer (non-stream JSON) as this kind's own event stream, for an upstream that
   * answered a stream request with JSON; null when the body is not an answer (an error body).
   */
  completionAsStream?(body: Buffer): string | null;
  /** The exchange for an entry protocol, or null when this kind cannot serve it. */
  exchange(entry: Entry): Exchange | null;
}
