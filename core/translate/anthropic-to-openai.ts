/**
 * Anthropic Messages client  ⇄  OpenAI Chat Completions upstream.
 *
 * Request: Anthropic body → chat body. Response: chat completion → Anthropic message.
 * Stream: chat.completion.chunk objects → Anthropic SSE events. Pure data in, data out.
 */
import {
  type AnthropicContentBlock,
  type AnthropicContentBlockParam,
  type AnthropicEvent,
  type AnthropicMessage,
  type AnthropicMessagesRequest,
  type AnthropicStopReason,
  type AnthropicTool,
  type AnthropicToolChoice,
  type AnthropicUsage,
  type ChatRequestOptions,
  type JsonObject,
  type OpenAIChatChunk,
  type OpenAIChatMessage,
  type OpenAIChatRequest,
  type OpenAIChatResponse,
  type OpenAIChatTool,
  type OpenAIContentPart,
  type OpenAIToolCallDelta,
  type OpenAIToolChoice,
  type OpenAIUsage,
  isRecord,
  parseToolArguments,
  rebrandId,
  sanitizeToolId,
  stringifyToolInput,
} from './types.js';
import { reasoningEffortFor, reasoningOf } from './thinking.js';

// ─────────────────────────────────────── request ───────────────────────────────────────

export function anthropicRequestToOpenAIChat(
  body: AnthropicMessagesRequest,
  upstreamModel: string,
  options: ChatRequestOptions = {},
): OpenAIChatRequest {
  const messages: OpenAIChatMessage[] = [];
  const system = systemText(body.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  for (const m of body.messages ?? []) {
    if (m.role === 'assistant') messages.push(assistantMessage(m.content));
    else messages.push(...userMessages(m.content));
  }

  const out: OpenAIChatRequest = { model: upstreamModel, messages };
  out[options.maxTokensField ?? 'max_tokens'] = body.max_tokens;
  const effort = reasoningEffortFor(body);
  if (effort) {
    // OpenAI reasoning models refuse sampling parameters; with thinking on, Anthropic itself only
    // accepts temperature 1 and top_p ≥ 0.95, so leaving them out changes next to nothing.
    out.reasoning_effort = effort;
  } else {
    if (body.temperature !== undefined) out.temperature = body.temperature;
    if (body.top_p !== undefined) out.top_p = body.top_p;
  }
  if (body.stop_sequences?.length) out.stop = body.stop_sequences;
  if (body.stream) {
    out.stream = true;
    // Without this OpenAI sends no usage at all on streams, and Anthropic clients expect it.
    out.stream_options = { include_usage: true };
  }
  if (typeof body.metadata?.user_id === 'string') out.user = body.metadata.user_id;
  const schema = outputSchema(body);
  // Named because chat requires a name; not strict, because OpenAI's strict mode rejects
  // schemas Anthropic accepts (optional properties), and a 400 is worse than best effort.
  if (schema) out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema } };

  const tools = (body.tools ?? []).map(toolToOpenAI).filter((t): t is OpenAIChatTool => t !== null);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = toolChoiceToOpenAI(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (body.tool_choice && 'disable_parallel_tool_use' in body.tool_choice && body.tool_choice.disable_parallel_tool_use) {
      out.parallel_tool_calls = false;
    }
  }
  return out;
}

/** Structured outputs: `output_config.format` (GA) or the beta's top-level `output_format`. */
function outputSchema(body: AnthropicMessagesRequest): JsonObject | undefined {
  const format = isRecord(body.output_config) && isRecord(body.output_config.format) ? body.output_config.format : body.output_format;
  return isRecord(format) && format.type === 'json_schema' && isRecord(format.schema) ? format.schema : undefined;
}

function systemText(system: AnthropicMessagesRequest['system']): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  // Many OpenAI-compatible servers only accept a string system message, so blocks are joined.
  return system.filter((b) => b?.type === 'text').map((b) => b.text).join('\n\n');
}

function blocksOf(content: string | AnthropicContentBlockParam[]): AnthropicContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content : [];
}

function imagePart(block: AnthropicContentBlockParam): OpenAIContentPart | null {
  if (block.type !== 'image' || !isRecord(block.source)) return null;
  const s = block.source;
  if (s.type === 'base64' && typeof s.data === 'string') {
    return { type: 'image_url', image_url: { url: `data:${String(s.media_type)};base64,${s.data}` } };
  }
  if (s.type === 'url' && typeof s.url === 'string') return { type: 'image_url', image_url: { url: s.url } };
  return null; // file-id sources live in Anthropic's Files API; nothing to point an upstream at
}

function documentPart(block: AnthropicContentBlockParam): OpenAIContentPart | null {
  if (block.type !== 'document' || !isRecord(block.source)) return null;
  const s = block.source;
  if (s.type === 'text' && typeof s.data === 'string') return { type: 'text', text: s.data };
  if (s.type === 'base64' && typeof s.data === 'string') {
    const mediaType = s.media_type ?? 'application/pdf';
    return { type: 'file', file: { filename: block.title ?? 'document.pdf', file_data: `data:${mediaType};base64,${s.data}` } };
  }
  return null;
}

/**
 * Text-only content becomes a plain string: several OpenAI-compatible servers reject
 * part arrays, and a single string is what every one of them accepts.
 */
function contentOf(parts: OpenAIContentPart[]): string | OpenAIContentPart[] {
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => (p as { text: string }).text).join('\n\n');
  return parts;
}

/**
 * One Anthropic user turn can hold tool results and new input. OpenAI wants each result
 * as its own `tool` message right after the assistant's tool_calls, then the user text.
 */
function userMessages(content: string | AnthropicContentBlockParam[]): OpenAIChatMessage[] {
  const out: OpenAIChatMessage[] = [];
  const parts: OpenAIContentPart[] = [];
  const toolImages: OpenAIContentPart[] = [];
  for (const block of blocksOf(content)) {
    if (block.type === 'text') {
      if (block.text !== '') parts.push({ type: 'text', text: block.text });
    } else if (block.type === 'image') {
      const p = imagePart(block);
      if (p) parts.push(p);
    } else if (block.type === 'document') {
      const p = documentPart(block);
      if (p) parts.push(p);
    } else if (block.type === 'tool_result') {
      const { text, images } = toolResultContent(block.content);
      // OpenAI's tool message has no error flag; say it in the text so the model still knows.
      const body = block.is_error ? `Error: ${text}` : text;
      out.push({ role: 'tool', tool_call_id: block.tool_use_id, content: body });
      toolImages.push(...images);
    }
  }
  // Tool messages only carry text, so images returned by a tool follow as user content.
  const all = [...toolImages, ...parts];
  if (all.length > 0) out.push({ role: 'user', content: contentOf(all) });
  return out;
}

function toolResultContent(content: unknown): { text: string; images: OpenAIContentPart[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: OpenAIContentPart[] = [];
  for (const b of Array.isArray(content) ? (content as AnthropicContentBlockParam[]) : []) {
    if (b?.type === 'text') texts.push(b.text);
    const img = imagePart(b);
    if (img) images.push(img);
  }
  return { text: texts.join('\n\n'), images };
}

function assistantMessage(content: string | AnthropicContentBlockParam[]): OpenAIChatMessage {
  const texts: string[] = [];
  const toolCalls: NonNullable<OpenAIChatMessage['tool_calls']> = [];
  for (const block of blocksOf(content)) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: stringifyToolInput(block.input) } });
    }
    // thinking / redacted_thinking are dropped: their signatures are Anthropic-only, and the chat
    // API has no input field for reasoning (OpenAI and strict servers refuse reasoning_content).
  }
  // Joined without a separator: Anthropic splits one passage into several text blocks
  // around citations, and a separator would land mid-sentence.
  const text = texts.join('');
  const msg: OpenAIChatMessage = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return msg;
}

function toolToOpenAI(tool: AnthropicTool): OpenAIChatTool | null {
  // Server tools (web_search_20250305, bash_…, text_editor_…) run inside Anthropic; an
  // OpenAI upstream cannot execute them, so they are left out rather than faked.
  if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') return null;
  const fn: OpenAIChatTool['function'] = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } };
  if (tool.description !== undefined) fn.description = tool.description;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toolChoiceToOpenAI(choice: AnthropicToolChoice | undefined): OpenAIToolChoice | undefined {
  switch (choice?.type) {
    case 'auto': return 'auto';
    case 'any': return 'required';
    case 'none': return 'none';
    case 'tool': return { type: 'function', function: { name: choice.name } };
    default: return undefined;
  }
}

// ─────────────────────────────────────── response ──────────────────────────────────────

export function finishReasonToAnthropic(reason: string | null | undefined, hasToolCalls: boolean): AnthropicStopReason {
  // Some servers (Ollama, older vLLM) report 'stop' alongside tool calls; Anthropic clients
  // loop on stop_reason === 'tool_use', so the presence of calls wins.
  if (hasToolCalls && (reason === 'stop' || reason === 'tool_calls' || reason === 'function_call' || !reason)) return 'tool_use';
  switch (reason) {
    case 'length': return 'max_tokens';
    case 'tool_calls':
    case 'function_call': return 'tool_use';
    case 'content_filter': return 'refusal';
    default: return 'end_turn';
  }
}

/** OpenAI's prompt_tokens includes cached tokens; Anthropic reports cache reads separately. */
export function usageToAnthropic(usage: OpenAIUsage | null | undefined): AnthropicUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

export interface ChatToAnthropicOptions {
  /**
   * The client asked for thinking (`wantsThinking`: enabled / adaptive / between_tools): the upstream's reasoning
   * (`reasoning_content` / `reasoning`) becomes a leading thinking block. Without it the reasoning
   * is dropped, as Claude sends no thinking unasked and clients read `content[0].text`.
   */
  thinking?: boolean;
}

/**
 * A thinking block made from an OpenAI-compatible upstream's reasoning has no signature
 * (only Claude can sign): `''`, the value a thinking block starts with in Anthropic's stream.
 */
const UNSIGNED = '';

export function openAIChatResponseToAnthropic(resp: OpenAIChatResponse, publicModel: string, options: ChatToAnthropicOptions = {}): AnthropicMessage {
  const choice = resp.choices?.[0];
  const msg = choice?.message;
  const content: AnthropicContentBlock[] = [];
  const reasoning = options.thinking ? reasoningOf(msg) : '';
  if (reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: UNSIGNED });
  if (typeof msg?.content === 'string' && msg.content !== '') content.push({ type: 'text', text: msg.content });
  if (typeof msg?.refusal === 'string' && msg.refusal !== '') content.push({ type: 'text', text: msg.refusal });
  const id = rebrandId(resp.id, 'msg_');
  for (const [i, tc] of (msg?.tool_calls ?? []).entries()) {
    if (tc.type !== undefined && tc.type !== 'function') continue;
    content.push({
      type: 'tool_use',
      // Missing ids happen on a few compatible servers; derive one unique to this message.
      id: sanitizeToolId(tc.id || `toolu_${id.slice(4)}_${i}`),
      name: tc.function.name,
      input: parseToolArguments(tc.function.arguments),
    });
  }
  const hasTools = content.some((b) => b.type === 'tool_use');
  const stop = msg?.refusal ? 'refusal' : finishReasonToAnthropic(choice?.finish_reason, hasTools);
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: publicModel,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: usageToAnthropic(resp.usage),
  };
}

// ─────────────────────────────────────── stream ────────────────────────────────────────

export interface OpenAIChatStreamToAnthropicOptions {
  publicModel: string;
  /** Message id for message_start; defaults to one derived from the first chunk's id. */
  id?: string;
  /** OpenAI reports prompt tokens only at the end; a gateway estimate fills message_start. */
  estimatedInputTokens?: number;
  /** As ChatToAnthropicOptions.thinking: reasoning deltas become a thinking block. */
  thinking?: boolean;
}

type OpenBlock = { kind: 'text' | 'tool' | 'thinking'; index: number };

/**
 * Turns a sequence of chat.completion.chunk objects into Anthropic stream events.
 * Call push() per upstream `data:` JSON, end() on `[DONE]` / clean EOF, and error() when
 * the upstream fails mid-stream (the stream then ends with an error event and no message_stop).
 */
export class OpenAIChatStreamToAnthropic {
  private started = false;
  private finished = false;
  private nextIndex = 0;
  private open: OpenBlock | null = null;
  /** OpenAI tool_call index → Anthropic block index and the call id seen there. */
  private tools = new Map<number, { index: number; id: string }>();
  private lastToolKey = -1;
  private finishReason: string | null = null;
  private refusal = false;
  private usage: OpenAIUsage | null = null;
  private messageId = '';

  constructor(private readonly opts: OpenAIChatStreamToAnthropicOptions) {}

  /** `chunkJson` is one parsed `data:` payload of the upstream chat stream (an OpenAIChatChunk). */
  push(chunkJson: object): AnthropicEvent[] {
    if (this.finished || !isRecord(chunkJson)) return [];
    const chunk = chunkJson as unknown as OpenAIChatChunk;
    const out: AnthropicEvent[] = [];
    if (!this.started) out.push(this.messageStart(chunk));
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    if (delta) {
      if (this.opts.thinking) {
        const reasoning = reasoningOf(delta);
        if (reasoning !== '') this.thinking(reasoning, out);
      }
      if (typeof delta.content === 'string' && delta.content !== '') this.text(delta.content, out);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') {
        this.refusal = true;
        this.text(delta.refusal, out);
      }
      for (const tc of delta.tool_calls ?? []) this.toolDelta(tc, out);
    }
    if (choice?.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.closeBlock(out);
    }
    // The usage chunk (choices: []) follows the finish chunk when include_usage is on; some
    // servers put usage on the finish chunk itself, some on every chunk (so a usage seen
    // before the finish is not final). Usage arriving once the finish is known ends it.
    if (this.finishReason !== null && chunk.usage) out.push(...this.finish());
    return out;
  }

  end(): AnthropicEvent[] {
    if (this.finished || !this.started) return [];
    return this.finish();
  }

  /** A failure after content went out: protocol-correct error event, no message_stop. */
  error(message: string, type = 'api_error'): AnthropicEvent[] {
    if (this.finished) return [];
    this.finished = true;
    return [{ type: 'error', error: { type, message } }];
  }

  private messageStart(chunk: OpenAIChatChunk): AnthropicEvent {
    this.started = true;
    this.messageId = this.opts.id ?? rebrandId(chunk.id, 'msg_');
    return {
      type: 'message_start',
      message: {
        id: this.messageId,
        type: 'message',
        role: 'assistant',
        model: this.opts.publicModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.opts.estimatedInputTokens ?? 0, output_tokens: 0 },
      },
    };
  }

  private text(text: string, out: AnthropicEvent[]): void {
    if (this.open?.kind !== 'text') {
      this.closeBlock(out);
      this.open = { kind: 'text', index: this.nextIndex++ };
      out.push({ type: 'content_block_start', index: this.open.index, content_block: { type: 'text', text: '' } });
    }
    out.push({ type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text } });
  }

  private thinking(text: string, out: AnthropicEvent[]): void {
    if (this.open?.kind !== 'thinking') {
      this.closeBlock(out);
      this.open = { kind: 'thinking', index: this.nextIndex++ };
      out.push({ type: 'content_block_start', index: this.open.index, content_block: { type: 'thinking', thinking: '', signature: UNSIGNED } });
    }
    out.push({ type: 'content_block_delta', index: this.open.index, delta: { type: 'thinking_delta', thinking: text } });
  }

  private toolDelta(tc: OpenAIToolCallDelta, out: AnthropicEvent[]): void {
    // Servers disagree on `index`: some omit it, some (Gemini) repeat 0 for parallel calls
    // while changing the id. A new id under a known index therefore starts a new call.
    let key = typeof tc.index === 'number' ? tc.index : tc.id ? this.lastToolKey + 1 : this.lastToolKey;
    const known = this.tools.get(key);
    if (known && tc.id && known.id !== sanitizeToolId(tc.id)) key = Math.max(...this.tools.keys()) + 1;
    let tool = this.tools.get(key);
    if (!tool) {
      if (!tc.id && !tc.function?.name) return; // argument bytes for a call we never saw start
      this.closeBlock(out);
      tool = { index: this.nextIndex++, id: sanitizeToolId(tc.id || `toolu_${this.messageId.slice(4)}_${key}`) };
      this.tools.set(key, tool);
      this.open = { kind: 'tool', index: tool.index };
      out.push({
        type: 'content_block_start',
        index: tool.index,
        content_block: { type: 'tool_use', id: tool.id, name: tc.function?.name ?? '', input: {} },
      });
    }
    this.lastToolKey = key;
    const args = tc.function?.arguments;
    // OpenAI streams calls one after another; a late delta for an earlier call still goes
    // to that call's block index, which the SDKs accumulate by index.
    if (typeof args === 'string' && args !== '') {
      out.push({ type: 'content_block_delta', index: tool.index, delta: { type: 'input_json_delta', partial_json: args } });
    }
  }

  private closeBlock(out: AnthropicEvent[]): void {
    if (this.open) out.push({ type: 'content_block_stop', index: this.open.index });
    this.open = null;
  }

  private finish(): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    this.closeBlock(out);
    this.finished = true;
    const usage = usageToAnthropic(this.usage);
    const stop = this.refusal ? 'refusal' : finishReasonToAnthropic(this.finishReason, this.tools.size > 0);
    out.push({
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      // input_tokens here corrects the estimate sent in message_start (SDKs overwrite it).
      usage: this.usage
        ? { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, cache_read_input_tokens: usage.cache_read_input_tokens }
        : { output_tokens: 0 },
    });
    out.push({ type: 'message_stop' });
    return out;
  }
}

export function serializeAnthropicEvent(ev: AnthropicEvent): string {
  return `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
}
