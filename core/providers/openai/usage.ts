import type { Usage } from '../types.js';

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

/** OpenAI `usage` → Usage, or null when absent. */
export function openAIUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const x = u as OpenAIUsage;
  if (typeof x.prompt_tokens !== 'number') return null;
  return {
    inputTokens: x.prompt_tokens,
    outputTokens: x.completion_tokens ?? 0,
    cachedInputTokens: x.prompt_tokens_details?.cached_tokens ?? undefined,
    reasoningTokens: x.completion_tokens_details?.reasoning_tokens ?? undefined,
    estimated: false,
  };
}
