/**
 * Reasoning across the protocols: OpenAI's `reasoning_effort` (chat) / `reasoning.effort`
 * (Responses) and Anthropic's `thinking: { type: 'enabled', budget_tokens }` (or `adaptive`
 * with `output_config.effort`), and the rules Anthropic puts around thinking. Pure helpers,
 * shared by the translators and the Anthropic passthrough. The mapping is documented in
 * README.md ("Reasoning").
 */
import { type AnthropicContentBlockParam, type AnthropicMessageParam, type AnthropicMessagesRequest, isRecord } from './types.js';

/** Anthropic's floor for `thinking.budget_tokens`. */
export const MIN_THINKING_BUDGET = 1024;

/**
 * OpenAI effort → Anthropic thinking budget. `minimal` is Anthropic's floor; each step up
 * multiplies, as OpenAI's levels do in practice; `max` stays low enough that budget + the
 * default 4096-token answer fits every thinking model's output limit (Opus 4 / 4.1: 32,000).
 * `none` is no thinking.
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 2048, medium: 8192, high: 16384, xhigh: 24576, max: 27648 };

const EFFORTS = ['none', ...Object.keys(THINKING_BUDGETS)];

/**
 * The thinking budget for a client's `reasoning_effort`: null when there is none (absent,
 * null, `none`). Any other value OpenAI would refuse is refused here too (a 400 naming the values).
 */
export function thinkingBudgetFor(effort: unknown): number | null {
  if (effort === undefined || effort === null || effort === 'none') return null;
  const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) throw new Error(`reasoning_effort ${JSON.stringify(effort)} is not one of ${EFFORTS.join(', ')}`);
  return budget;
}

/**
 * Anthropic `thinking` → OpenAI `reasoning_effort` (low / medium / high only: o-series and
 * most compatible servers refuse `minimal`). `enabled`: by budget (< 4096 low, < 16384
 * medium, else high: the inverse of THINKING_BUDGETS); an `output_config.effort` wins when
 * given (`xhigh` / `max` are high). `adaptive` / `between_tools` without an effort, `disabled`
 * or absent: no effort sent (the upstream's default).
 */
export function reasoningEffortFor(body: AnthropicMessagesRequest): 'low' | 'medium' | 'high' | undefined {
  const thinking = body.thinking;
  if (!wantsThinking(body) || !isRecord(thinking)) return undefined;
  const effort = isRecord(body.output_config) ? body.output_config.effort : undefined;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  if (effort === 'max' || effort === 'xhigh') return 'high';
  if (thinking.type !== 'enabled') return undefined; // adaptive, between_tools: the model decides
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : THINKING_BUDGETS.medium;
  return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high';
}

const THINKING_ON = new Set(['enabled', 'adaptive', 'between_tools']);

/** The Anthropic client asked for thinking (enabled, adaptive, between_tools): only then does it get thinking blocks back. */
export function wantsThinking(body: unknown): boolean {
  return isRecord(body) && isRecord(body.thinking) && THINKING_ON.has(String(body.thinking.type));
}

/** Reasoning text on an OpenAI-compatible message or delta: `reasoning_content` (DeepSeek, vLLM, LiteLLM) or `reasoning` (vLLM ≥ 0.10, OpenRouter, Ollama). */
export function reasoningOf(m: unknown): string {
  if (!isRecord(m)) return '';
  if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') return m.reasoning_content;
  return typeof m.reasoning === 'string' ? m.reasoning : '';
}

const isThinking = (b: unknown): boolean => isRecord(b) && (b.type === 'thinking' || b.type === 'redacted_thinking');
const isToolResult = (b: unknown): boolean => isRecord(b) && b.type === 'tool_result';

/**
 * With thinking enabled Anthropic refuses (400) a request that is in the middle of an
 * assistant turn (a prefilled assistant message last, or tool results answering the
 * assistant's tool_use) unless that turn's first assistant message starts with a signed
 * thinking block. True when `messages` is such a request without one.
 */
export function midTurnWithoutThinking(messages: AnthropicMessageParam[]): boolean {
  // The turn starts after the last user message that is not (only) tool results.
  let start = messages.length;
  while (start > 0) {
    const m = messages[start - 1];
    if (m?.role === 'user' && !(Array.isArray(m.content) && m.content.some(isToolResult))) break;
    start--;
  }
  const first = messages[start];
  if (first?.role !== 'assistant') return false; // not mid-turn
  return !(Array.isArray(first.content) && isThinking(first.content[0]));
}

/**
 * Thinking blocks without a signature can only come from somewhere other than Claude (the
 * gateway makes them from an OpenAI-compatible upstream's reasoning). Claude validates the
 * signature of every thinking block it is sent back, even in past turns, and answers 400, so
 * they are left out of a request to an Anthropic upstream. When that leaves the current turn
 * without its opening thinking block, `thinking: enabled` is dropped for the request too
 * (the 400 above). Returns `body` itself when nothing needed to change.
 */
export function withoutUnsignedThinking(body: Record<string, unknown>): Record<string, unknown> {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body;
  let out: unknown[] | null = null;
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isRecord(m) || m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    const blocks = m.content as AnthropicContentBlockParam[];
    if (!blocks.some(unsigned)) continue;
    out ??= messages.slice();
    const kept = blocks.filter((b) => !unsigned(b));
    // An assistant message left empty would be refused: it goes (Anthropic joins the
    // user messages around it into one turn itself).
    out[i] = kept.length > 0 ? { ...m, content: kept } : null;
  }
  if (!out) return body;
  const cleaned = out.filter((m) => m !== null) as AnthropicMessageParam[];
  const next: Record<string, unknown> = { ...body, messages: cleaned };
  if (isRecord(body.thinking) && body.thinking.type === 'enabled' && midTurnWithoutThinking(next.messages as AnthropicMessageParam[])) delete next.thinking;
  return next;
}

function unsigned(b: unknown): boolean {
  return isRecord(b) && b.type === 'thinking' && (typeof b.signature !== 'string' || b.signature === '');
}
