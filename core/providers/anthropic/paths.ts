import type { Target } from '../../routing/table.js';

/**
 * Upstream paths for an Anthropic provider. `base_url` is what the Anthropic SDK calls its
 * base URL (`https://api.anthropic.com`, or a proxy's prefix): the gateway appends
 * `/v1/messages` to its path. A base_url that already ends in `/v1` is accepted too.
 */
export function anthropicPath(target: Target, rest: '/messages' | '/messages/count_tokens'): string {
  return target.provider.basePath.endsWith('/v1') ? rest : `/v1${rest}`;
}

/** Anthropic requires max_tokens; OpenAI clients may omit it: the target's allowance, else 4096. */
export function defaultMaxTokens(target: Target): number {
  return target.maxOutputTokens ?? 4096;
}
