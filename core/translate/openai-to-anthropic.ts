/**
 * OpenAI Chat Completions client  ⇄  Anthropic Messages upstream.
 *
 * Request: chat body → Anthropic body. Response: Anthropic message → chat completion.
 * Stream: Anthropic SSE events → chat.completion.chunk objects. Pure data in, data out.
 */
import {
  type AnthropicContentBlockParam,
  type AnthropicEvent,
  type AnthropicMessage,
  type AnthropicMessageParam,
  type AnthropicMessagesRequest,
  type AnthropicTextBlock,
  type AnthropicTool,
  type AnthropicToolChoice,
  type AnthropicUsage,
  type JsonObject,
  type OpenAIChatChunk,
  type OpenAIChatMessage,
  type OpenAIChatRequest,
  type OpenAIChatResponse,
  type OpenAIContentPart,
  type OpenAIErrorBody,
  type OpenAIFinishReason,
  type OpenAIToolCall,
  type OpenAIUsage,
  isRecord,
  nowSeconds,
  parseToolArguments,
  rebrandId,
  sanitizeToolId,
  stringifyToolInput,
} from './types.js';
import { anthropicErrorToOpenAI } from './errors.js';
import { MIN_THINKING_BUDGET, midTurnWithoutThinking, thinkingBudgetFor } from './thinking.js';

// ─────────────────────────────────────── request ───────────────────────────────────────

export function openAIChatRequestToAnthropic(
  body: OpenAIChatRequest,
  upstreamModel: string,
  defaultMaxTokens = 4096,
): AnthropicMessagesRequest {
  // Anthropic answers one completion per request; one choice where n were asked breaks clients
  // that read choices[1]. A throw here is the client's 400 (core/attempts/send.ts).
  if (typeof body.n === 'number' && body.n > 1) throw new Error(`n=${body.n}: an Anthropic upstream returns one choice per request`);
  const effortBudget = thinkingBudgetFor(body.reasoning_effort); // throws on a value OpenAI would refuse too
  const system: string[] = [];
  const turns: AnthropicMessageParam[] = [];
  for (const m of body.messages ?? []) {
    if (!isRecord(m)) continue;
    if (m.role === 'system' || m.role === 'developer') {
      // Anthropic has one top-level system prompt; mid-conversation system turns are hoisted.
      const t = partsText(m.content);
      if (t !== '') system.push(t);
    } else if (m.role === 'assistant') {
      pushTurn(turns, 'assistant', assistantBlocks(m));
    } else if (m.role === 'tool') {
      pushTurn(turns, 'user', [toolResult(m)]);
    } else {
      pushTurn(turns, 'user', userBlocks(m.content));
    }
  }

  const out: AnthropicMessagesRequest = {
    model: upstreamModel,
    // Required by Anthropic, optional in OpenAI: the caller picks the default per target.
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens,
    messages: turns,
  };
  if (system.length === 1) out.system = system[0];
  else if (system.length > 1) out.system = system.map((text): AnthropicTextBlock => ({ type: 'text', text }));

  if (typeof body.temperature === 'number') {
    // OpenAI accepts 0–2, Anthropic 0–1 and rejects anything above.
    out.temperature = Math.min(1, body.temperature);
  }
  // Current Claude models reject temperature and top_p together; temperature is the
  // knob clients mean more often, so it wins.
  if (typeof body.top_p === 'number' && out.temperature === undefined) out.top_p = body.top_p;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  if (body.stream) out.stream = true;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  const format = outputFormat(body.response_format);
  if (format) out.output_config = { format };

  const tools = (body.tools ?? []).filter((t) => t?.type === 'function' && isRecord(t.function)).map((t): AnthropicTool => {
    const tool: AnthropicTool = {
      name: t.function.name,
      // Anthropic requires an object schema even for argument-less tools.
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    };
    if (t.function.description !== undefined) tool.description = t.function.description;
    return tool;
  });
  if (tools.length > 0) {
    out.tools = tools;
    const choice = toolChoiceToAnthropic(body.tool_choice, body.parallel_tool_calls === false);
    if (choice) out.tool_choice = choice;
  }
  if (effortBudget !== null) enableThinking(out, body, effortBudget, defaultMaxTokens);
  return out;
}

/**
 * `reasoning_effort` → `thinking: { type: 'enabled', budget_tokens }` (README, "Reasoning").
 * Both APIs count reasoning inside the output cap, so a client's own cap is kept and the
 * budget is fitted under it (at most half the cap, at least Anthropic's 1024 floor; a cap of
 * 1024 or less cannot hold any thinking and the request goes without). Without a client cap
 * the gateway picks max_tokens: the target's allowance when it holds the budget plus a
 * 4096-token answer, else budget + 4096 (never more than every thinking model takes).
 * Thinking is also left out where Anthropic would refuse it: a forced tool choice, and a
 * request in the middle of an assistant turn (an OpenAI client cannot send the signed
 * thinking block that turn must start with). With thinking on, temperature is dropped
 * (Anthropic accepts only 1) and top_p is raised into the 0.95–1 it accepts.
 */
/** Room kept for the answer when the gateway picks max_tokens for a thinking request. */
const ANSWER_ALLOWANCE = 4096;

function enableThinking(out: AnthropicMessagesRequest, body: OpenAIChatRequest, effortBudget: number, defaultMaxTokens: number): void {
  if (out.tool_choice?.type === 'any' || out.tool_choice?.type === 'tool') return;
  if (midTurnWithoutThinking(out.messages)) return;
  const cap = body.max_completion_tokens ?? body.max_tokens;
  let budget = effortBudget;
  if (typeof cap === 'number') {
    if (cap <= MIN_THINKING_BUDGET) return;
    budget = Math.max(MIN_THINKING_BUDGET, Math.min(effortBudget, Math.floor(cap / 2)));
  } else {
    out.max_tokens = Math.max(defaultMaxTokens, budget + ANSWER_ALLOWANCE);
  }
  out.thinking = { type: 'enabled', budget_tokens: budget };
  delete out.temperature;
  if (typeof body.top_p === 'number') out.top_p = Math.min(1, Math.max(0.95, body.top_p));
}

/**
 * Structured outputs: chat's `response_format: json_schema` is Anthropic's `output_config.format`
 * (GA, no beta header). json_object has no Anthropic form (a schema is required) and is left out.
 */
function outputFormat(rf: unknown): { type: 'json_schema'; schema: JsonObject } | undefined {
  if (!isRecord(rf) || rf.type !== 'json_schema' || !isRecord(rf.json_schema) || !isRecord(rf.json_schema.schema)) return undefined;
  return { type: 'json_schema', schema: rf.json_schema.schema };
}

/** Anthropic requires strictly alternating roles, so adjacent same-role turns are merged. */
function pushTurn(turns: AnthropicMessageParam[], role: 'user' | 'assistant', blocks: AnthropicContentBlockParam[]): void {
  if (blocks.length === 0) return; // empty turns are rejected; dropping one keeps alternation
  const last = turns[turns.length - 1];
  if (last?.role === role && Array.isArray(last.content)) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

function partsText(content: OpenAIChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (p?.type === 'text' ? p.text : p?.type === 'refusal' ? p.refusal : '')).filter((t) => t !== '').join('\n\n');
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

function imageBlock(url: string): AnthropicContentBlockParam {
  const m = DATA_URL.exec(url);
  if (m) return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function userBlocks(content: OpenAIChatMessage['content']): AnthropicContentBlockParam[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const blocks: AnthropicContentBlockParam[] = [];
  for (const p of Array.isArray(content) ? (content as OpenAIContentPart[]) : []) {
    if (p?.type === 'text' && p.text !== '') blocks.push({ type: 'text', text: p.text });
    else if (p?.type === 'image_url' && typeof p.image_url?.url === 'string') blocks.push(imageBlock(p.image_url.url));
    else if (p?.type === 'file' && typeof p.file?.file_data === 'string') {
      const m = DATA_URL.exec(p.file.file_data);
      if (m) blocks.push({ type: 'document', source: { type: 'base64', media_type: m[1], data: m[2] } });
    }
    // input_audio and file_id parts have no Anthropic equivalent and are dropped.
  }
  return blocks;
}

function assistantBlocks(m: OpenAIChatMessage): AnthropicContentBlockParam[] {
  const blocks: AnthropicContentBlockParam[] = [];
  const text = partsText(m.content);
  if (text !== '') blocks.push({ type: 'text', text });
  for (const tc of m.tool_calls ?? []) {
    if (tc?.type !== 'function' || !isRecord(tc.function)) continue;
    blocks.push({ type: 'tool_use', id: sanitizeToolId(tc.id), name: tc.function.name, input: parseToolArguments(tc.function.arguments) });
  }
  return blocks;
}

function toolResult(m: OpenAIChatMessage): AnthropicContentBlockParam {
  return { type: 'tool_result', tool_use_id: sanitizeToolId(m.tool_call_id ?? ''), content: partsText(m.content) };
}

function toolChoiceToAnthropic(choice: OpenAIChatRequest['tool_choice'], noParallel: boolean): AnthropicToolChoice | undefined {
  const flag = noParallel ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...flag };
  if (isRecord(choice) && choice.type === 'function' && typeof choice.function?.name === 'string') {
    return { type: 'tool', name: choice.function.name, ...flag };
  }
  if (choice === 'auto' || noParallel) return { type: 'auto', ...flag };
  return undefined;
}

// ─────────────────────────────────────── response ──────────────────────────────────────

export function stopReasonToOpenAI(reason: string | null | undefined): OpenAIFinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded': return 'length';
    case 'tool_use': return 'tool_calls';
    case 'refusal': return 'content_filter';
    default: return 'stop'; // end_turn, stop_sequence, pause_turn
  }
}

/** Anthropic counts cache reads and writes apart from input_tokens; OpenAI folds them in. */
export function usageToOpenAI(usage: Partial<AnthropicUsage> | null | undefined): OpenAIUsage {
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  const prompt = (usage?.input_tokens ?? 0) + cacheRead + (usage?.cache_creation_input_tokens ?? 0);
  const completion = usage?.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
}

export function anthropicResponseToOpenAIChat(resp: AnthropicMessage, publicModel: string, created = nowSeconds()): OpenAIChatResponse {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  for (const b of resp.content ?? []) {
    if (b.type === 'text') texts.push(b.text);
    else if (b.type === 'tool_use') {
      toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: stringifyToolInput(b.input) } });
    } else if (b.type === 'thinking' && typeof b.thinking === 'string' && b.thinking !== '') thoughts.push(b.thinking);
    // redacted_thinking is encrypted and signatures are Anthropic-only: nothing a chat client can read or return.
  }
  const message: OpenAIChatResponse['choices'][number]['message'] = {
    role: 'assistant',
    content: texts.length === 0 && toolCalls.length > 0 ? null : texts.join(''), // '' join: citations split text blocks mid-sentence
    refusal: null,
  };
  // The de facto chat field for reasoning (DeepSeek, vLLM, LiteLLM); interleaved thinking
  // between tool calls gives several blocks, one paragraph each.
  if (thoughts.length > 0) message.reasoning_content = thoughts.join('\n\n');
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: rebrandId(resp.id, 'chatcmpl-'),
    object: 'chat.completion',
    created,
    model: publicModel,
    choices: [{ index: 0, message, finish_reason: stopReasonToOpenAI(resp.stop_reason), logprobs: null }],
    usage: usageToOpenAI(resp.usage),
  };
}

// ─────────────────────────────────────── stream ────────────────────────────────────────

export interface AnthropicStreamToOpenAIChatOptions {
  publicModel: string;
  /** The client asked for stream_options.include_usage: send the trailing usage chunk. */
  includeUsage?: boolean;
  id?: string;
  created?: number;
}

export type OpenAIStreamFrame = OpenAIChatChunk | OpenAIErrorBody;

type ChunkDelta = OpenAIChatChunk['choices'][number]['delta'];

/**
 * Turns Anthropic stream events (event name + parsed data) into chat.completion.chunk
 * objects. push() per event, end() on EOF, error() for a mid-stream upstream failure.
 * Serialise each frame with serializeOpenAIChunk and finish with OPENAI_STREAM_DONE
 * (except after an error, where the design asks for no [DONE]).
 */
export class AnthropicStreamToOpenAIChat {
  private id: string;
  private readonly created: number;
  private started = false;
  private finished = false;
  private stopSent = false;
  /** Anthropic block index → OpenAI tool_calls index (counted over tool_use blocks only). */
  private toolIndex = new Map<number, number>();
  private usage: Partial<AnthropicUsage> = {};
  /** Block index of the last thinking text sent (-1: none yet). */
  private thinkingBlock = -1;

  constructor(private readonly opts: AnthropicStreamToOpenAIChatOptions) {
    this.id = opts.id ?? '';
    this.created = opts.created ?? nowSeconds();
  }

  /** `eventType` is the SSE `event:` name, `data` its parsed JSON (the name wins if data lacks `type`). */
  push(eventType: string, data: object): OpenAIStreamFrame[] {
    if (this.finished) return [];
    const ev = (isRecord(data) ? { ...data, type: data.type ?? eventType } : { type: eventType }) as AnthropicEvent;
    const out: OpenAIStreamFrame[] = [];
    switch (ev.type) {
      case 'message_start': {
        if (this.id === '') this.id = rebrandId(ev.message?.id, 'chatcmpl-');
        Object.assign(this.usage, ev.message?.usage ?? {});
        this.start(out);
        break;
      }
      case 'content_block_start': {
        this.start(out);
        const block = ev.content_block;
        if (block?.type === 'text' && block.text) out.push(this.chunk({ content: block.text }));
        else if (block?.type === 'thinking' && block.thinking) out.push(this.reasoning(ev.index, block.thinking));
        else if (block?.type === 'tool_use') {
          const index = this.toolIndex.size;
          this.toolIndex.set(ev.index, index);
          out.push(this.chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] }));
        }
        break;
      }
      case 'content_block_delta': {
        this.start(out);
        const d = ev.delta;
        if (d?.type === 'text_delta' && d.text !== '') out.push(this.chunk({ content: d.text }));
        else if (d?.type === 'thinking_delta' && typeof d.thinking === 'string' && d.thinking !== '') out.push(this.reasoning(ev.index, d.thinking));
        else if (d?.type === 'input_json_delta' && d.partial_json !== '') {
          const index = this.toolIndex.get(ev.index);
          if (index !== undefined) out.push(this.chunk({ tool_calls: [{ index, function: { arguments: d.partial_json } }] }));
        }
        // signature_delta (and redacted_thinking blocks) are Anthropic-only: nothing for a chat client.
        break;
      }
      case 'message_delta': {
        // Counters here are cumulative totals, so they overwrite rather than add.
        for (const [k, v] of Object.entries(ev.usage ?? {})) if (typeof v === 'number') (this.usage as Record<string, number>)[k] = v;
        this.start(out);
        out.push(this.chunk({}, stopReasonToOpenAI(ev.delta?.stop_reason)));
        this.stopSent = true;
        break;
      }
      case 'message_stop':
        out.push(...this.end());
        break;
      case 'error':
        out.push(...this.error(ev.error?.message ?? 'upstream error', ev.error?.type));
        break;
      default: // ping, content_block_stop and future event types carry nothing for OpenAI
    }
    return out;
  }

  /** Upstream ended: make sure the client still gets a finish chunk and, if asked, usage. */
  end(): OpenAIStreamFrame[] {
    if (this.finished || !this.started) return [];
    const out: OpenAIStreamFrame[] = [];
    if (!this.stopSent) out.push(this.chunk({}, this.toolIndex.size > 0 ? 'tool_calls' : 'stop'));
    this.stopSent = true;
    if (this.opts.includeUsage) {
      out.push({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.opts.publicModel, choices: [], usage: usageToOpenAI(this.usage) });
    }
    this.finished = true;
    return out;
  }

  /** A failure mid-stream: OpenAI streams errors as a `data: {"error":…}` frame. */
  error(message: string, anthropicType = 'api_error'): OpenAIStreamFrame[] {
    if (this.finished) return [];
    this.finished = true;
    return [anthropicErrorToOpenAI(500, { type: 'error', error: { type: anthropicType, message } })];
  }

  private start(out: OpenAIStreamFrame[]): void {
    if (this.started) return;
    this.started = true;
    if (this.id === '') this.id = rebrandId(undefined, 'chatcmpl-');
    out.push(this.chunk({ role: 'assistant', content: '' }));
  }

  /** Thinking text as `reasoning_content`; a later thinking block (interleaved thinking) starts a new paragraph, as in the non-stream message. */
  private reasoning(blockIndex: number, text: string): OpenAIChatChunk {
    const sep = this.thinkingBlock !== -1 && this.thinkingBlock !== blockIndex ? '\n\n' : '';
    this.thinkingBlock = blockIndex;
    return this.chunk({ reasoning_content: sep + text });
  }

  private chunk(delta: ChunkDelta, finish: OpenAIFinishReason | null = null): OpenAIChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.opts.publicModel,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
  }
}

export function serializeOpenAIChunk(frame: OpenAIStreamFrame): string {
  return `data: ${JSON.stringify(frame)}\n\n`;
}

export const OPENAI_STREAM_DONE = 'data: [DONE]\n\n';
