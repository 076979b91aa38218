import type { Failure } from '../../attempts/failure.js';
import type { Usage } from '../types.js';
import { openAIUsage } from './usage.js';
import { classifyOpenAIStreamError } from './classify.js';

/**
 * Reading an upstream chat-completions stream for the translations to other client
 * protocols (Anthropic Messages, Responses): which frames carry content, the terminator,
 * stream errors, and usage (reported or estimated).
 */

interface ChatChunk {
  error?: { type?: string; code?: string; message?: string };
  choices?: { delta?: { content?: string | null; tool_calls?: unknown; refusal?: string | null; function_call?: unknown; reasoning_content?: string | null; reasoning?: string | null }; finish_reason?: string | null }[];
  usage?: unknown;
}

/**
 * Keys whose string values are model output: text, tool-call arguments, reasoning, refusals.
 * Spaces around the colon are allowed: Python servers frame with json.dumps' `": "`.
 */
const OUTPUT_KEY = /"(?:content|arguments|reasoning_content|reasoning|refusal)"\s*:\s*"/g;

/** Index of the quote closing the JSON string that starts at `from` (data.length if cut). */
function stringEnd(data: string, from: number): number {
  for (let j = from; ; ) {
    const q = data.indexOf('"', j);
    if (q === -1) return data.length;
    let bs = 0;
    for (let k = q - 1; data.charCodeAt(k) === 92; k--) bs++;
    if (bs % 2 === 0) return q;
    j = q + 1;
  }
}

/** Characters of model output in a raw chunk, without parsing it (usage estimates). */
export function outputChars(data: string): number {
  let n = 0;
  OUTPUT_KEY.lastIndex = 0;
  for (let m = OUTPUT_KEY.exec(data); m; m = OUTPUT_KEY.exec(data)) {
    const end = stringEnd(data, OUTPUT_KEY.lastIndex);
    n += end - OUTPUT_KEY.lastIndex;
    OUTPUT_KEY.lastIndex = end + 1;
  }
  return n;
}

export type ChatFrame =
  | { kind: 'done' }
  | { kind: 'error'; failure: Failure }
  | { kind: 'chunk'; chunk: Record<string, unknown>; content: boolean };

export class ChatStreamReader {
  private reported: Usage | null = null;
  private contentChars = 0;
  done = false;
  /** The last finish_reason seen. */
  finishReason: string | null = null;

  read(data: string): ChatFrame {
    if (data === '[DONE]') {
      this.done = true;
      return { kind: 'done' };
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      return { kind: 'error', failure: { class: 'server_error', status: null, message: 'malformed SSE frame from upstream', retryAfterMs: null } };
    }
    if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk)) {
      return { kind: 'error', failure: { class: 'server_error', status: null, message: 'malformed SSE frame from upstream', retryAfterMs: null } };
    }
    if (chunk.error) return { kind: 'error', failure: classifyOpenAIStreamError(chunk.error) };
    if (chunk.usage) this.reported = openAIUsage(chunk.usage) ?? this.reported;
    this.contentChars += outputChars(data);
    const choice = chunk.choices?.[0];
    const d = choice?.delta;
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    const content = !!(d && (d.content || d.tool_calls || d.refusal || d.function_call || d.reasoning_content || d.reasoning)) || choice?.finish_reason != null;
    return { kind: 'chunk', chunk: chunk as Record<string, unknown>, content };
  }

  usage(estimatedInputTokens: number): Usage {
    return this.reported ?? { inputTokens: estimatedInputTokens, outputTokens: Math.ceil(this.contentChars / 4), estimated: true };
  }
}

/** The chat body's output cap under the field this target wants (see Target.maxTokensField). */
export function mapMaxTokensField(body: Record<string, unknown>, field: 'max_tokens' | 'max_completion_tokens' | undefined): Record<string, unknown> {
  if (!field) return body;
  const other = field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
  if (body[other] === undefined) return body;
  const { [other]: value, ...rest } = body;
  return { ...rest, [field]: body[field] ?? value };
}
