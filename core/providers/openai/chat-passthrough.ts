import type { Exchange, FrameVerdict, StreamTranslator, Usage } from '../types.js';
import type { Target } from '../../routing/table.js';
import { openAIUsage } from './usage.js';
import { mapMaxTokensField, outputChars } from './chat-stream-reader.js';
import { jsonWithModel } from '../json-with-model.js';
import { dataLines } from '../../streaming/sse.js';
import { classifyOpenAIStreamError } from './classify.js';
import { REPLAYED_USAGE_EVENT } from './completion-stream.js';

/**
 * OpenAI chat entry → OpenAI-compatible upstream: the body passes through with the model
 * rewritten (and max_tokens renamed when the target wants max_completion_tokens, or back).
 */

interface ChatChunk {
  error?: { type?: string; code?: string; message?: string };
  choices?: { delta?: { content?: string | null; tool_calls?: unknown; refusal?: string | null; function_call?: unknown; reasoning_content?: string | null; reasoning?: string | null }; finish_reason?: string | null }[];
  usage?: unknown;
}

const DONE = 'data: [DONE]\n\n';
const MALFORMED: FrameVerdict = { kind: 'error', failure: { class: 'server_error', status: null, message: 'malformed SSE frame from upstream', retryAfterMs: null } };

/** A frame that reports usage (`"usage":null`, sent on every chunk with include_usage, does not). */
const USAGE = /"usage"\s*:\s*\{/;
/** A finish chunk cut by the content filter, read from the raw frame (escaped quotes in text cannot match). */
const FILTERED_FINISH = /"finish_reason"\s*:\s*"content_filter"/;

class OpenAIChatRelay implements StreamTranslator {
  private reported: Usage | null = null;
  private contentChars = 0;
  private done = false;
  private flowing = false;
  private finish: string | null = null;
  /** The last frame passed as bytes once flowing: read at the end only, for contentFiltered(). */
  private tail: string | null = null;

  /** `includeUsage`: the client's stream_options.include_usage, which gates a replayed answer's usage chunk. */
  constructor(private readonly includeUsage: boolean) {}

  frame(event: string | undefined, data: string): FrameVerdict {
    if (event === REPLAYED_USAGE_EVENT) {
      // The gateway's replay of a JSON answer: counted always, shown only when asked for.
      try {
        this.reported = openAIUsage((JSON.parse(data) as ChatChunk).usage) ?? this.reported;
      } catch {
        return MALFORMED;
      }
      return this.includeUsage ? { kind: 'content', out: dataLines(data) + '\n\n' } : { kind: 'skip' };
    }
    if (data === '[DONE]') {
      this.done = true;
      return { kind: 'done', out: DONE };
    }
    // Once content flows only errors and usage need a parse; the rest passes as bytes.
    if (this.flowing && !data.includes('"error"') && !USAGE.test(data)) {
      this.contentChars += outputChars(data);
      this.tail = data;
      return { kind: 'content', out: dataLines(data) + '\n\n' };
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      return MALFORMED;
    }
    // `data: null`, `data: 1`: JSON, but not a chunk.
    if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk)) return MALFORMED;
    // Classified like an error status's body: quota, context length, a request-level error...
    if (chunk.error) return { kind: 'error', failure: classifyOpenAIStreamError(chunk.error) };
    const out = dataLines(data) + '\n\n';
    if (chunk.usage) this.reported = openAIUsage(chunk.usage) ?? this.reported;
    this.contentChars += outputChars(data);
    const choice = chunk.choices?.[0];
    const d = choice?.delta;
    if (choice?.finish_reason) this.finish = choice.finish_reason;
    const isContent = !!(d && (d.content || d.tool_calls || d.refusal || d.function_call || d.reasoning_content || d.reasoning)) || (choice?.finish_reason != null) || (!!chunk.usage && !choice);
    if (isContent) this.flowing = true;
    return { kind: isContent ? 'content' : 'lifecycle', out };
  }

  end() {
    return { out: '', complete: this.done };
  }

  contentFiltered(): boolean {
    return this.finish === 'content_filter' || (this.tail !== null && FILTERED_FINISH.test(this.tail));
  }

  usage(estimatedInputTokens: number): Usage {
    return this.reported ?? { inputTokens: estimatedInputTokens, outputTokens: Math.ceil(this.contentChars / 4), estimated: true };
  }

  errorEvent(message: string, code: string): string {
    return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`;
  }
}

export const openAIChatPassthrough: Exchange = {
  request(body: Record<string, unknown>, target: Target) {
    return { path: '/chat/completions', body: jsonWithModel(mapMaxTokensField(body, target.maxTokensField), target.model) };
  },
  response(raw: Buffer) {
    const json = JSON.parse(raw.toString('utf8')) as { choices?: { finish_reason?: string }[]; usage?: unknown; error?: unknown };
    if (!json || typeof json !== 'object' || json.error || !Array.isArray(json.choices)) throw new Error('upstream 200 is not a chat completion');
    return { body: raw, usage: openAIUsage(json.usage), contentFiltered: json.choices[0]?.finish_reason === 'content_filter' };
  },
  stream(_target, _publicModel, includeUsage) {
    return new OpenAIChatRelay(includeUsage);
  },
};

export const openAIEmbeddingsPassthrough: Exchange = {
  request(body: Record<string, unknown>, target: Target) {
    return { path: '/embeddings', body: jsonWithModel(body, target.model) };
  },
  response(raw: Buffer) {
    const json = JSON.parse(raw.toString('utf8')) as { data?: unknown; usage?: { prompt_tokens?: number } };
    if (!json || typeof json !== 'object' || !Array.isArray(json.data)) throw new Error('upstream 200 is not an embeddings list');
    const inputTokens = json.usage?.prompt_tokens;
    return { body: raw, usage: typeof inputTokens === 'number' ? { inputTokens, outputTokens: 0, estimated: false } : null, contentFiltered: false };
  },
  stream() {
    throw new Error('embeddings do not stream');
  },
};
