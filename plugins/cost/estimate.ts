import { boundedCountTokens, warmTokenizer } from '../../core/server/bounded-tokens.js';

export { warmTokenizer };
import type { Price, RequestSummary } from '../../sdk/types.js';
import { eachPromptText } from '../../sdk/plugin.js';

/** Tokenize at most this many characters and extrapolate: bounded cost on the hot path. */
const SAMPLE_CHARS = 1000;

/** Prompt text up to `limit` characters, and the count of all of it. */
function collect(body: Record<string, unknown>, limit: number): { text: string; chars: number } {
  let text = '';
  let chars = 0;
  eachPromptText(body, (v) => {
    chars += v.length;
    if (text.length < limit) text += v.slice(0, limit - text.length) + '\n';
  });
  return { text, chars };
}

/** Input tokens by a real BPE tokenizer (o200k), extrapolated beyond the sample. */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const { text, chars } = collect(body, SAMPLE_CHARS);
  if (!chars) return 0;
  const sampled = boundedCountTokens(text);
  const sampleChars = Math.min(chars, SAMPLE_CHARS);
  return Math.ceil(sampled * (chars / Math.max(1, sampleChars)));
}

/**
 * This is read as a plain property, also where nothing catches (starting a stream, settling
 * usage): it must never throw. The tokenizer does on some text (prompts that quote special
 * tokens such as "<|endoftext|>"); then the rough estimate stands.
 */
function safeEstimate(body: Record<string, unknown>, rough: number): number {
  try {
    return estimateInputTokens(body);
  } catch {
    return rough;
  }
}

/**
 * Make `summary.estimatedInputTokens` the tokenizer's count, counted when first read (the
 * budget header, the cheapest strategy, a policy, a capture, a stream without usage) instead
 * of on every request: a JSON request whose upstream reports usage never pays for BPE.
 * Still a plain enumerable value to JSON, spreads and structured clones; a write replaces it.
 */
export function refineInputTokensLazily(summary: RequestSummary, body: Record<string, unknown>): void {
  let tokens: number | undefined;
  const rough = summary.estimatedInputTokens;
  Object.defineProperty(summary, 'estimatedInputTokens', {
    enumerable: true,
    configurable: true,
    get: () => (tokens ??= safeEstimate(body, rough)),
    set: (v: number) => void (tokens = v),
  });
}

/** DESIGN.md: estimated input tokens × input price + output allowance × output price (USD / 1M tokens). */
export function estimateCostUsd(inputTokens: number, outputTokens: number, price: Price): number {
  return (inputTokens * price.input + outputTokens * price.output) / 1e6;
}

export interface UsageLike {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
}

/** Real cost from usage. Cached input is billed at `cached_input` when the price says so. */
export function usageCostUsd(u: UsageLike, price: Price & { cached_input?: number }): number {
  const cached = Math.min(u.cachedInputTokens ?? 0, u.inputTokens);
  const cachedPrice = price.cached_input ?? price.input;
  return ((u.inputTokens - cached) * price.input + cached * cachedPrice + u.outputTokens * price.output) / 1e6;
}
