import type { ProviderAdapter } from '../types.js';
import { classifyAnthropic } from './classify.js';
import { anthropicMessagesPassthrough } from './messages-passthrough.js';
import { openAIChatOverAnthropic, openAIResponsesOverAnthropic } from './openai-over-anthropic.js';
import { anthropicMessageAsStream } from './message-stream.js';

/**
 * The native Anthropic Messages API (`kind: anthropic`): `x-api-key` and `anthropic-version`
 * (provider `anthropic_version`) on every call; `base_url` like https://api.anthropic.com
 * (the gateway appends /v1/messages, see paths.ts). Serves Anthropic clients as a
 * passthrough and OpenAI chat / Responses clients through core/translate.
 */
export const anthropicAdapter: ProviderAdapter = {
  kind: 'anthropic',
  headers(cfg) {
    const h: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': cfg.anthropic_version, ...cfg.headers };
    if (cfg.api_key) h['x-api-key'] = cfg.api_key;
    return h;
  },
  classify: classifyAnthropic,
  completionAsStream: anthropicMessageAsStream,
  exchange(entry) {
    if (entry === 'anthropic.messages') return anthropicMessagesPassthrough;
    if (entry === 'openai.chat') return openAIChatOverAnthropic;
    if (entry === 'openai.responses') return openAIResponsesOverAnthropic;
    return null; // embeddings: Anthropic has no embeddings API
  },
};
