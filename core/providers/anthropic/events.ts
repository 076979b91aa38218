import type { Failure } from '../../attempts/failure.js';
import type { FrameVerdict, Usage } from '../types.js';
import { anthropicStreamFailure } from './classify.js';

/**
 * Reading an Anthropic Messages event stream: what each event means for the relay, and the
 * usage it reports. Shared by the passthrough and by the translations to OpenAI clients.
 */

export interface AnthropicUsageFields {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** Anthropic usage → Usage. Anthropic counts cache reads and writes apart from input_tokens; Usage folds them in. */
export function anthropicUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const x = u as AnthropicUsageFields;
  if (typeof x.input_tokens !== 'number') return null;
  const cacheRead = x.cache_read_input_tokens ?? 0;
  return {
    inputTokens: x.input_tokens + cacheRead + (x.cache_creation_input_tokens ?? 0),
    outputTokens: x.output_tokens ?? 0,
    cachedInputTokens: cacheRead || undefined,
    estimated: false,
  };
}

/**
 * Events that carry output: the first one commits the attempt. Everything else
 * (message_start, ping, content_block_start/stop, event types added later) is lifecycle:
 * held until the first content, so a failure before it fails over invisibly.
 */
const CONTENT = new Set(['content_block_delta', 'message_delta']);

export type AnthropicFrame =
  | { ok: true; type: string; json: Record<string, unknown>; kind: FrameVerdict['kind'] }
  | { ok: false; failure: Failure };

const malformed: Failure = { class: 'server_error', status: null, message: 'malformed SSE frame from upstream', retryAfterMs: null };

/**
 * Tracks one Anthropic stream: classifies each event and accumulates usage (message_start
 * carries input tokens, message_delta cumulative output tokens). The stream is complete
 * only once message_stop arrived.
 */
export class AnthropicStreamReader {
  private usageFields: AnthropicUsageFields = {};
  private sawStart = false;
  private sawDelta = false;
  private outputChars = 0;
  stopped = false;
  /** message_delta's stop_reason, once seen. */
  stopReason: string | null = null;

  read(event: string | undefined, data: string): AnthropicFrame {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return { ok: false, failure: malformed };
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) return { ok: false, failure: malformed };
    const type = typeof json.type === 'string' ? json.type : event ?? '';
    if (type === 'error') {
      const e = (json.error ?? {}) as { type?: unknown; message?: unknown };
      return { ok: false, failure: anthropicStreamFailure(String(e.type ?? ''), String(e.message ?? '')) };
    }
    if (type === 'message_start') {
      this.sawStart = true;
      const u = (json.message as { usage?: AnthropicUsageFields } | undefined)?.usage;
      if (u) Object.assign(this.usageFields, u);
    } else if (type === 'content_block_delta') {
      const d = json.delta as { text?: unknown; partial_json?: unknown; thinking?: unknown } | undefined;
      for (const v of [d?.text, d?.partial_json, d?.thinking]) if (typeof v === 'string') this.outputChars += v.length;
    } else if (type === 'message_delta') {
      this.sawDelta = true;
      const stop = (json.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
      if (typeof stop === 'string') this.stopReason = stop;
      // Counters here are cumulative totals: they overwrite.
      const u = json.usage as AnthropicUsageFields | undefined;
      if (u) for (const [k, v] of Object.entries(u)) if (typeof v === 'number') (this.usageFields as Record<string, number>)[k] = v;
    } else if (type === 'message_stop') {
      this.stopped = true;
      return { ok: true, type, json, kind: 'done' };
    }
    return { ok: true, type, json, kind: CONTENT.has(type) ? 'content' : 'lifecycle' };
  }

  /** Reported usage; when the stream was cut before message_delta, output is estimated from the text seen. */
  usage(estimatedInputTokens: number): Usage {
    const reported = this.sawStart ? anthropicUsage(this.usageFields) : null;
    const estimatedOut = Math.ceil(this.outputChars / 4);
    if (reported && this.sawDelta) return reported;
    return {
      inputTokens: reported?.inputTokens ?? estimatedInputTokens,
      outputTokens: Math.max(reported?.outputTokens ?? 0, estimatedOut),
      cachedInputTokens: reported?.cachedInputTokens,
      estimated: true,
    };
  }
}

/** The Anthropic `event: error` frame that ends a stream which failed after content was sent. */
export function anthropicErrorEvent(message: string, code: string, type = 'api_error'): string {
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message, code } })}\n\n`;
}
