/**
 * OpenAI Responses API client  ⇄  OpenAI Chat Completions upstream.
 *
 * Most OpenAI-compatible servers only speak chat completions; this bridges a stateless
 * subset of the Responses API over them (requests relying on stored state are refused before
 * translation, see core/pipeline/capabilities.ts serverStateFields). Request: Responses body → chat body. Response:
 * chat completion → Response object. Stream: chat chunks → Responses stream events.
 */
import {
  type ChatRequestOptions,
  type OpenAIChatChunk,
  type OpenAIChatMessage,
  type OpenAIChatRequest,
  type OpenAIChatResponse,
  type OpenAIChatTool,
  type OpenAIContentPart,
  type OpenAIToolCallDelta,
  type OpenAIUsage,
  type ResponsesFunctionCall,
  type ResponsesInputContent,
  type ResponsesOutputMessage,
  type ResponsesReasoningItem,
  type ResponsesRequest,
  type ResponsesResponse,
  type ResponsesStreamEvent,
  type ResponsesUsage,
  isRecord,
  nowSeconds,
  rebrandId,
} from './types.js';
import { reasoningOf } from './thinking.js';

// ─────────────────────────────────────── request ───────────────────────────────────────

export function responsesRequestToChat(body: ResponsesRequest, upstreamModel: string, options: ChatRequestOptions = {}): OpenAIChatRequest {
  const messages: OpenAIChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  for (const item of Array.isArray(body.input) ? body.input : []) {
    if (!isRecord(item)) continue;
    if (item.type === 'function_call') {
      const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments ?? '' } };
      // Parallel calls are separate items in Responses but one assistant message in chat,
      // and a tool message must follow the assistant message that holds its call.
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      const output = typeof item.output === 'string' ? item.output : textOf(item.output);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
    } else if (item.type === 'message' || item.type === undefined) {
      // developer is newer than most compatible servers; system means the same to them.
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role === 'assistant') messages.push({ role, content: typeof item.content === 'string' ? item.content : textOf(item.content) });
      else messages.push({ role, content: typeof item.content === 'string' ? item.content : contentParts(item.content) });
    }
    // reasoning and hosted-tool items need server-side state: skipped. Requests that need stored
    // state to be answered (previous_response_id, item_reference...) never get here: the plan
    // refuses them for bridged targets (core/pipeline/plan.ts).
  }

  const out: OpenAIChatRequest = { model: upstreamModel, messages };
  if (typeof body.max_output_tokens === 'number') out[options.maxTokensField ?? 'max_tokens'] = body.max_output_tokens;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.user === 'string') out.user = body.user;
  if (isRecord(body.reasoning) && typeof body.reasoning.effort === 'string') out.reasoning_effort = body.reasoning.effort;
  const format = isRecord(body.text) && isRecord(body.text.format) ? body.text.format : null;
  if (format?.type === 'json_schema') {
    const { type: _t, ...schema } = format;
    out.response_format = { type: 'json_schema', json_schema: schema };
  } else if (format?.type === 'json_object') out.response_format = { type: 'json_object' };
  if (body.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true }; // response.completed must carry usage
  }

  const tools = (body.tools ?? []).filter((t) => t?.type === 'function').map((t): OpenAIChatTool => {
    const fn: OpenAIChatTool['function'] = { name: String(t.name) };
    if (typeof t.description === 'string') fn.description = t.description;
    fn.parameters = isRecord(t.parameters) ? t.parameters : { type: 'object', properties: {} };
    if (typeof t.strict === 'boolean') fn.strict = t.strict;
    return { type: 'function', function: fn };
  });
  if (tools.length > 0) {
    out.tools = tools;
    const tc = body.tool_choice;
    if (tc === 'auto' || tc === 'none' || tc === 'required') out.tool_choice = tc;
    else if (isRecord(tc) && tc.type === 'function' && typeof tc.name === 'string') out.tool_choice = { type: 'function', function: { name: tc.name } };
    if (typeof body.parallel_tool_calls === 'boolean') out.parallel_tool_calls = body.parallel_tool_calls;
  }
  return out;
}

function textOf(content: ResponsesInputContent[] | undefined): string {
  return (content ?? []).map((c) => c?.text ?? c?.refusal ?? '').join('');
}

function contentParts(content: ResponsesInputContent[]): string | OpenAIContentPart[] {
  const parts: OpenAIContentPart[] = [];
  for (const c of Array.isArray(content) ? content : []) {
    if ((c?.type === 'input_text' || c?.type === 'output_text') && typeof c.text === 'string') parts.push({ type: 'text', text: c.text });
    else if (c?.type === 'input_image' && typeof c.image_url === 'string') {
      const detail = c.detail === 'low' || c.detail === 'high' ? c.detail : 'auto';
      parts.push({ type: 'image_url', image_url: { url: c.image_url, detail } });
    } else if (c?.type === 'input_file' && (c.file_data || c.file_id)) {
      const file: { file_data?: string; file_id?: string; filename?: string } = {};
      if (c.file_data) file.file_data = c.file_data;
      if (c.file_id) file.file_id = c.file_id;
      if (c.filename) file.filename = c.filename;
      parts.push({ type: 'file', file });
    }
  }
  // A lone text part as a plain string keeps text-only compatible servers happy.
  return parts.length === 1 && parts[0].type === 'text' ? parts[0].text : parts;
}

// ─────────────────────────────────────── response ──────────────────────────────────────

export function usageToResponses(u: OpenAIUsage | null | undefined): ResponsesUsage {
  const input = u?.prompt_tokens ?? 0;
  const output = u?.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u?.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u?.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u?.total_tokens ?? input + output,
  };
}

function incompleteReason(finish: string | null | undefined): 'max_output_tokens' | 'content_filter' | null {
  return finish === 'length' ? 'max_output_tokens' : finish === 'content_filter' ? 'content_filter' : null;
}

/** The Response envelope; request-echo fields come from the client's body when known. */
function envelope(id: string, createdAt: number, model: string, req: Partial<ResponsesRequest> | undefined): ResponsesResponse {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: req?.instructions ?? null,
    max_output_tokens: req?.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: req?.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: isRecord(req?.reasoning) && typeof req.reasoning.effort === 'string' ? req.reasoning.effort : null, summary: null },
    store: false,
    temperature: req?.temperature ?? 1,
    text: req?.text ?? { format: { type: 'text' } },
    tool_choice: req?.tool_choice ?? 'auto',
    tools: req?.tools ?? [],
    top_p: req?.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    metadata: req?.metadata ?? {},
  };
}

function settle(r: ResponsesResponse, finish: string | null | undefined, usage: OpenAIUsage | null | undefined): ResponsesResponse {
  const reason = incompleteReason(finish);
  r.status = reason ? 'incomplete' : 'completed';
  r.incomplete_details = reason ? { reason } : null;
  r.usage = usageToResponses(usage);
  return r;
}

export function chatResponseToResponses(
  resp: OpenAIChatResponse,
  publicModel: string,
  request?: Partial<ResponsesRequest>,
  createdAt = resp.created ?? nowSeconds(),
): ResponsesResponse {
  const r = envelope(rebrandId(resp.id, 'resp_'), createdAt, publicModel, request);
  const choice = resp.choices?.[0];
  const msg = choice?.message;
  const itemStatus = incompleteReason(choice?.finish_reason) ? 'incomplete' : 'completed';
  // Reasoning first, as OpenAI's reasoning models order their output.
  const reasoning = reasoningOf(msg);
  if (reasoning !== '') r.output.push(reasoningItem(rebrandId(resp.id, 'rs_'), reasoning, itemStatus));
  const content: ResponsesOutputMessage['content'] = [];
  if (typeof msg?.content === 'string' && msg.content !== '') content.push({ type: 'output_text', text: msg.content, annotations: [], logprobs: [] });
  if (typeof msg?.refusal === 'string' && msg.refusal !== '') content.push({ type: 'refusal', refusal: msg.refusal });
  if (content.length > 0) {
    r.output.push({ type: 'message', id: rebrandId(resp.id, 'msg_'), status: itemStatus, role: 'assistant', content });
  }
  for (const tc of msg?.tool_calls ?? []) {
    r.output.push({ type: 'function_call', id: `fc_${tc.id}`, call_id: tc.id, name: tc.function.name, arguments: tc.function.arguments ?? '', status: 'completed' });
  }
  return settle(r, choice?.finish_reason, resp.usage);
}

/**
 * Upstream reasoning (`reasoning_content` / `reasoning`, or Claude's thinking) as a Responses
 * reasoning item: the text is the model's own, so it goes in `content` as `reasoning_text`
 * (what OpenAI sends for open-weight models), with an empty `summary` (OpenAI writes
 * summaries; nothing upstream did). No `encrypted_content`: the item cannot be sent back to
 * carry reasoning over, and the bridge skips reasoning items in input.
 */
function reasoningItem(id: string, text: string, status: ResponsesReasoningItem['status']): ResponsesReasoningItem {
  return { type: 'reasoning', id, summary: [], content: [{ type: 'reasoning_text', text }], status };
}

// ─────────────────────────────────────── stream ────────────────────────────────────────

export interface ChatStreamToResponsesOptions {
  publicModel: string;
  /** The client's Responses body, echoed in the Response envelope (tools, instructions…). */
  request?: Partial<ResponsesRequest>;
  id?: string;
  createdAt?: number;
}

type Open =
  | { kind: 'message'; index: number; item: ResponsesOutputMessage; part: 'output_text' | 'refusal' | null; text: string }
  | { kind: 'call'; index: number; item: ResponsesFunctionCall }
  | { kind: 'reasoning'; index: number; item: ResponsesReasoningItem; text: string };

// Events are built without sequence_number; emit() stamps it in order.
type Unsequenced = ResponsesStreamEvent extends infer E ? (E extends unknown ? Omit<E, 'sequence_number'> : never) : never;

/**
 * Turns chat.completion.chunk objects into the Responses event sequence. push() per
 * upstream chunk, end() on `[DONE]` / clean EOF, error() for a mid-stream failure.
 */
export class ChatStreamToResponses {
  private seq = 0;
  private response: ResponsesResponse | null = null;
  private open: Open | null = null;
  /** chat tool_calls index → the function_call item it feeds (the object inside response.output). */
  private calls = new Map<number, { index: number; item: ResponsesFunctionCall }>();
  private lastKey = -1;
  private finishReason: string | null = null;
  private usage: OpenAIUsage | null = null;
  private finished = false;

  constructor(private readonly opts: ChatStreamToResponsesOptions) {}

  /** `chunk` is one parsed `data:` payload of the upstream chat stream (an OpenAIChatChunk). */
  push(chunkJson: object): ResponsesStreamEvent[] {
    if (this.finished || !isRecord(chunkJson)) return [];
    const chunk = chunkJson as unknown as OpenAIChatChunk;
    const out: ResponsesStreamEvent[] = [];
    const r = this.start(chunk, out);
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    const d = choice?.delta;
    const reasoning = reasoningOf(d);
    if (reasoning !== '') this.reasoning(reasoning, out);
    if (typeof d?.content === 'string' && d.content !== '') this.text('output_text', d.content, out);
    if (typeof d?.refusal === 'string' && d.refusal !== '') this.text('refusal', d.refusal, out);
    for (const tc of d?.tool_calls ?? []) this.call(tc, out);
    if (choice?.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.close(out);
    }
    // Usage arrives on the chunk after finish_reason (include_usage) or on it; some servers
    // repeat running usage on every chunk, so only usage seen once finished ends the response.
    if (this.finishReason !== null && chunk.usage) out.push(...this.complete(r));
    return out;
  }

  end(): ResponsesStreamEvent[] {
    if (this.finished || !this.response) return [];
    return this.complete(this.response);
  }

  /** A failure mid-stream: an error event, then response.failed so clients see a terminal state. */
  error(message: string, code = 'server_error'): ResponsesStreamEvent[] {
    if (this.finished) return [];
    this.finished = true;
    const out: ResponsesStreamEvent[] = [];
    this.emit(out, { type: 'error', code, message, param: null });
    if (this.response) {
      const r = { ...this.response, status: 'failed' as const, error: { code, message } };
      this.emit(out, { type: 'response.failed', response: r });
    }
    return out;
  }

  private emit(out: ResponsesStreamEvent[], ev: Unsequenced): void {
    out.push({ ...ev, sequence_number: this.seq++ } as ResponsesStreamEvent);
  }

  private start(chunk: OpenAIChatChunk, out: ResponsesStreamEvent[]): ResponsesResponse {
    if (this.response) return this.response;
    const id = this.opts.id ?? rebrandId(chunk.id, 'resp_');
    this.response = envelope(id, this.opts.createdAt ?? chunk.created ?? nowSeconds(), this.opts.publicModel, this.opts.request);
    this.emit(out, { type: 'response.created', response: structuredClone(this.response) });
    this.emit(out, { type: 'response.in_progress', response: structuredClone(this.response) });
    return this.response;
  }

  private text(part: 'output_text' | 'refusal', delta: string, out: ResponsesStreamEvent[]): void {
    if (this.open?.kind !== 'message') {
      this.close(out);
      const r = this.response!;
      const item: ResponsesOutputMessage = { type: 'message', id: rebrandId(r.id, 'msg_') + (r.output.length || ''), status: 'in_progress', role: 'assistant', content: [] };
      this.open = { kind: 'message', index: r.output.length, item, part: null, text: '' };
      r.output.push(item);
      this.emit(out, { type: 'response.output_item.added', output_index: this.open.index, item: { ...item, content: [] } });
    }
    const m = this.open;
    if (m.part !== part) {
      this.closePart(out);
      m.part = part;
      m.text = '';
      const p = part === 'output_text' ? { type: part, text: '', annotations: [], logprobs: [] } : { type: part, refusal: '' };
      this.emit(out, { type: 'response.content_part.added', item_id: m.item.id, output_index: m.index, content_index: m.item.content.length, part: p });
    }
    m.text += delta;
    const ref = { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length };
    if (part === 'output_text') this.emit(out, { type: 'response.output_text.delta', ...ref, delta, logprobs: [] });
    else this.emit(out, { type: 'response.refusal.delta', ...ref, delta });
  }

  /** Reasoning text: a reasoning item with one reasoning_text part, streamed as response.reasoning_text.delta. */
  private reasoning(delta: string, out: ResponsesStreamEvent[]): void {
    if (this.open?.kind !== 'reasoning') {
      this.close(out);
      const r = this.response!;
      const item: ResponsesReasoningItem = { type: 'reasoning', id: rebrandId(r.id, 'rs_') + (r.output.length || ''), summary: [], content: [], status: 'in_progress' };
      this.open = { kind: 'reasoning', index: r.output.length, item, text: '' };
      r.output.push(item);
      this.emit(out, { type: 'response.output_item.added', output_index: this.open.index, item: { ...item, content: [] } });
      this.emit(out, { type: 'response.content_part.added', item_id: item.id, output_index: this.open.index, content_index: 0, part: { type: 'reasoning_text', text: '' } });
    }
    const o = this.open;
    o.text += delta;
    this.emit(out, { type: 'response.reasoning_text.delta', item_id: o.item.id, output_index: o.index, content_index: 0, delta });
  }

  private closePart(out: ResponsesStreamEvent[]): void {
    const m = this.open;
    if (m?.kind !== 'message' || m.part === null) return;
    const ref = { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length };
    const part = m.part === 'output_text'
      ? { type: 'output_text' as const, text: m.text, annotations: [], logprobs: [] }
      : { type: 'refusal' as const, refusal: m.text };
    if (part.type === 'output_text') this.emit(out, { type: 'response.output_text.done', ...ref, text: m.text, logprobs: [] });
    else this.emit(out, { type: 'response.refusal.done', ...ref, refusal: m.text });
    this.emit(out, { type: 'response.content_part.done', ...ref, part });
    m.item.content.push(part);
    m.part = null;
  }

  private call(tc: OpenAIToolCallDelta, out: ResponsesStreamEvent[]): void {
    // Servers disagree on `index`: some omit it, some (Gemini) repeat 0 for parallel calls
    // while changing the id. A new id under a known index therefore starts a new call.
    const nextKey = this.calls.size === 0 ? 0 : Math.max(...this.calls.keys()) + 1;
    let key = typeof tc.index === 'number' ? tc.index : tc.id ? nextKey : this.lastKey;
    let call = this.calls.get(key);
    if (call && tc.id && call.item.call_id !== tc.id) {
      key = nextKey;
      call = undefined;
    }
    if (!call) {
      if (!tc.id && !tc.function?.name) return; // argument bytes for a call we never saw start
      this.close(out);
      const r = this.response!;
      const callId = tc.id || `call_${r.id.slice(5)}_${key}`;
      const item: ResponsesFunctionCall = { type: 'function_call', id: `fc_${callId}`, call_id: callId, name: tc.function?.name ?? '', arguments: '', status: 'in_progress' };
      call = { index: r.output.length, item };
      this.calls.set(key, call);
      r.output.push(item);
      this.open = { kind: 'call', ...call };
      this.emit(out, { type: 'response.output_item.added', output_index: call.index, item: { ...item } });
    }
    this.lastKey = key;
    const args = tc.function?.arguments;
    // Chat streams calls one after another; a late delta for an earlier call still goes to
    // that call's output_index, which the SDK accumulates by index.
    if (typeof args === 'string' && args !== '') {
      call.item.arguments += args;
      this.emit(out, { type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.index, delta: args });
    }
  }

  /** Close whatever item is open, emitting its done events. */
  private close(out: ResponsesStreamEvent[]): void {
    const o = this.open;
    if (!o) return;
    const status = incompleteReason(this.finishReason) ? 'incomplete' : 'completed';
    if (o.kind === 'message') {
      this.closePart(out);
      o.item.status = status;
      this.emit(out, { type: 'response.output_item.done', output_index: o.index, item: structuredClone(o.item) });
    } else if (o.kind === 'reasoning') {
      const ref = { item_id: o.item.id, output_index: o.index, content_index: 0 };
      const part = { type: 'reasoning_text' as const, text: o.text };
      this.emit(out, { type: 'response.reasoning_text.done', ...ref, text: o.text });
      this.emit(out, { type: 'response.content_part.done', ...ref, part });
      o.item.content = [part];
      o.item.status = status;
      this.emit(out, { type: 'response.output_item.done', output_index: o.index, item: structuredClone(o.item) });
    } else {
      const item = o.item;
      item.status = status;
      this.emit(out, { type: 'response.function_call_arguments.done', item_id: item.id, output_index: o.index, arguments: item.arguments, name: item.name });
      this.emit(out, { type: 'response.output_item.done', output_index: o.index, item: { ...item } });
    }
    this.open = null;
  }

  private complete(r: ResponsesResponse): ResponsesStreamEvent[] {
    const out: ResponsesStreamEvent[] = [];
    this.close(out);
    this.finished = true;
    settle(r, this.finishReason, this.usage);
    const type = r.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    this.emit(out, { type, response: structuredClone(r) });
    return out;
  }
}

export function serializeResponsesEvent(ev: ResponsesStreamEvent): string {
  return `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
}
