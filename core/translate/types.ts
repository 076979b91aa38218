/**
 * Minimal structural types for the three wire formats the translators speak:
 * OpenAI Chat Completions, Anthropic Messages and OpenAI Responses.
 *
 * They are deliberately loose: only the fields the translators read or write are named,
 * everything else is an open record, because client bodies carry many fields we pass over
 * and the vendors keep adding more. Client input is untrusted JSON, so the translators
 * still check shapes at run time; these types document intent, they do not validate.
 *
 * The bottom of the file holds the few tiny helpers every translator needs (JSON of tool
 * arguments, id sanitising) so the three translation files don't each grow a copy.
 */

export type JsonObject = Record<string, unknown>;

// ───────────────────────────── OpenAI Chat Completions ─────────────────────────────

export interface OpenAITextPart { type: 'text'; text: string }
export interface OpenAIImagePart { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
export interface OpenAIFilePart { type: 'file'; file: { file_data?: string; file_id?: string; filename?: string } }
export interface OpenAIRefusalPart { type: 'refusal'; refusal: string }
export type OpenAIContentPart = OpenAITextPart | OpenAIImagePart | OpenAIFilePart | OpenAIRefusalPart;

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAIChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | OpenAIContentPart[] | null;
  name?: string;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
}

export interface OpenAIChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean };
}

export type OpenAIToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: OpenAIChatTool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  user?: string;
  [key: string]: unknown;
}

/** How a translator should shape a chat request for a particular upstream. */
export interface ChatRequestOptions {
  /** OpenAI reasoning models (o-series, gpt-5) only accept max_completion_tokens; most compatible servers only max_tokens. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; [key: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [key: string]: unknown };
}

export interface OpenAIChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      /** The de facto reasoning field (DeepSeek, vLLM, LiteLLM); `reasoning` on some servers. */
      reasoning_content?: string | null;
      reasoning?: string | null;
      refusal?: string | null;
      tool_calls?: OpenAIToolCall[];
    };
    finish_reason: OpenAIFinishReason | null;
    logprobs?: unknown;
  }>;
  usage?: OpenAIUsage;
  system_fingerprint?: string | null;
}

export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      refusal?: string | null;
      tool_calls?: OpenAIToolCallDelta[];
    };
    finish_reason: OpenAIFinishReason | null;
    logprobs?: unknown;
  }>;
  usage?: OpenAIUsage | null;
  system_fingerprint?: string | null;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

// ───────────────────────────────── Anthropic Messages ─────────────────────────────────

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string };

export interface AnthropicTextBlock { type: 'text'; text: string; [key: string]: unknown }
export interface AnthropicImageBlock { type: 'image'; source: AnthropicImageSource | { type: string; [key: string]: unknown } }
export interface AnthropicDocumentBlock {
  type: 'document';
  source: { type: string; media_type?: string; data?: string; url?: string };
  title?: string;
}
export interface AnthropicToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown }
export interface AnthropicToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock>;
  is_error?: boolean;
}
export interface AnthropicThinkingBlock { type: 'thinking'; thinking: string; signature: string }
export interface AnthropicRedactedThinkingBlock { type: 'redacted_thinking'; data: string }

/** Blocks a client may send. Unknown block types still arrive at run time; translators skip them. */
export type AnthropicContentBlockParam =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicDocumentBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock;

/** Blocks the translators put into (or read from) a response. */
export type AnthropicContentBlock = AnthropicTextBlock | AnthropicToolUseBlock | AnthropicThinkingBlock | AnthropicRedactedThinkingBlock;

export interface AnthropicMessageParam {
  role: 'user' | 'assistant';
  content: string | AnthropicContentBlockParam[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema?: JsonObject;
  type?: string;
  [key: string]: unknown;
}

export type AnthropicToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: string | AnthropicTextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id?: string | null };
  /** `format` is structured outputs (GA); the beta spelled it top-level `output_format`. `effort`: low | medium | high | max. */
  output_config?: { format?: { type: 'json_schema'; schema: JsonObject }; effort?: string; [key: string]: unknown };
  /** Extended thinking: `enabled` with a budget (≥ 1024, < max_tokens), `adaptive` / `between_tools` (newer models), or `disabled`. */
  thinking?: { type: 'enabled'; budget_tokens: number; [key: string]: unknown } | { type: 'adaptive' | 'between_tools' | 'disabled'; [key: string]: unknown };
  [key: string]: unknown;
}

export type AnthropicStopReason =
  | 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded';

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  [key: string]: unknown;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export type AnthropicDelta =
  | { type: 'text_delta'; text: string }
  | { type: 'input_json_delta'; partial_json: string }
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string };

export type AnthropicEvent =
  | { type: 'message_start'; message: AnthropicMessage }
  | { type: 'content_block_start'; index: number; content_block: AnthropicContentBlock }
  | { type: 'content_block_delta'; index: number; delta: AnthropicDelta }
  | { type: 'content_block_stop'; index: number }
  | {
      type: 'message_delta';
      delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null };
      usage: { output_tokens: number; input_tokens?: number | null; cache_read_input_tokens?: number | null };
    }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } };

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

// ─────────────────────────────────── OpenAI Responses ───────────────────────────────────

export interface ResponsesInputContent {
  type: 'input_text' | 'input_image' | 'input_file' | 'output_text' | 'refusal';
  text?: string;
  image_url?: string | null;
  file_id?: string | null;
  detail?: 'low' | 'high' | 'auto' | 'original';
  file_data?: string;
  filename?: string;
  refusal?: string;
}

export type ResponsesInputItem =
  | { type?: 'message'; role: 'user' | 'assistant' | 'system' | 'developer'; content: string | ResponsesInputContent[] }
  | { type: 'function_call'; call_id: string; name: string; arguments: string; id?: string }
  | { type: 'function_call_output'; call_id: string; output: string | ResponsesInputContent[] };

export interface ResponsesFunctionTool {
  type: 'function';
  name: string;
  description?: string | null;
  parameters?: JsonObject | null;
  strict?: boolean | null;
}

export interface ResponsesRequest {
  model: string;
  input?: string | ResponsesInputItem[];
  instructions?: string | null;
  tools?: Array<ResponsesFunctionTool | { type: string; [key: string]: unknown }>;
  tool_choice?: 'auto' | 'none' | 'required' | { type: string; name?: string };
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stream?: boolean | null;
  parallel_tool_calls?: boolean | null;
  [key: string]: unknown;
}

export interface ResponsesOutputText { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }
export interface ResponsesReasoningText { type: 'reasoning_text'; text: string }
export interface ResponsesOutputRefusal { type: 'refusal'; refusal: string }

export interface ResponsesOutputMessage {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: Array<ResponsesOutputText | ResponsesOutputRefusal>;
}

export interface ResponsesFunctionCall {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

/** The model's reasoning as a Responses item: raw text in `content` (not an OpenAI-written `summary`). */
export interface ResponsesReasoningItem {
  type: 'reasoning';
  id: string;
  summary: Array<{ type: 'summary_text'; text: string }>;
  content: ResponsesReasoningText[];
  status: 'in_progress' | 'completed' | 'incomplete';
}

export type ResponsesOutputItem = ResponsesOutputMessage | ResponsesFunctionCall | ResponsesReasoningItem;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponsesResponse {
  id: string;
  object: 'response';
  created_at: number;
  status: 'completed' | 'incomplete' | 'in_progress' | 'failed';
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  model: string;
  output: ResponsesOutputItem[];
  usage: ResponsesUsage | null;
  [key: string]: unknown;
}

type Seq = { sequence_number: number };
type ItemRef = { item_id: string; output_index: number };
type PartRef = ItemRef & { content_index: number };

export type ResponsesStreamEvent = Seq & (
  | { type: 'response.created' | 'response.in_progress' | 'response.completed' | 'response.incomplete' | 'response.failed'; response: ResponsesResponse }
  | { type: 'response.output_item.added' | 'response.output_item.done'; output_index: number; item: ResponsesOutputItem }
  | (PartRef & { type: 'response.content_part.added' | 'response.content_part.done'; part: ResponsesOutputText | ResponsesOutputRefusal | ResponsesReasoningText })
  | (PartRef & { type: 'response.reasoning_text.delta'; delta: string })
  | (PartRef & { type: 'response.reasoning_text.done'; text: string })
  | (PartRef & { type: 'response.output_text.delta'; delta: string; logprobs: unknown[] })
  | (PartRef & { type: 'response.output_text.done'; text: string; logprobs: unknown[] })
  | (PartRef & { type: 'response.refusal.delta'; delta: string })
  | (PartRef & { type: 'response.refusal.done'; refusal: string })
  | (ItemRef & { type: 'response.function_call_arguments.delta'; delta: string })
  | (ItemRef & { type: 'response.function_call_arguments.done'; arguments: string; name: string })
  | { type: 'error'; code: string | null; message: string; param: string | null }
);

// ─────────────────────────────── shared tiny helpers ───────────────────────────────

export function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Tool-call arguments travel as a JSON string in OpenAI formats and as an object in
 * Anthropic's. Models occasionally emit invalid JSON; dropping it silently would make a
 * client run the tool with `{}`, so the raw text is kept under `_raw_arguments` instead.
 */
export function parseToolArguments(args: string | undefined | null): JsonObject {
  if (args === undefined || args === null || args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) ? v : { _raw_arguments: args };
  } catch {
    return { _raw_arguments: args };
  }
}

export function stringifyToolInput(input: unknown): string {
  return JSON.stringify(input ?? {});
}

/**
 * Anthropic rejects tool_use ids outside [a-zA-Z0-9_-]; some OpenAI-compatible servers
 * emit ids with dots or colons. The mapping is deterministic so a tool_use id and the
 * tool_result that echoes it on the next turn still match.
 */
export function sanitizeToolId(id: string): string {
  const clean = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  return clean === '' ? 'toolu_empty' : clean;
}

/** Upstream ids carry the upstream's prefix (chatcmpl-, msg_); swap it for the client's. */
export function rebrandId(id: string | undefined, prefix: string): string {
  const bare = (id ?? '').replace(/^(chatcmpl-|msg_|resp_)/, '');
  return prefix + (bare === '' ? randomSuffix() : bare);
}

export function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 14) + Math.random().toString(36).slice(2, 14);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
