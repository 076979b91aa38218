import type { ProviderAdapter } from '../types.js';
import { classifyOpenAI } from './classify.js';
import { openAIChatPassthrough, openAIEmbeddingsPassthrough } from './chat-passthrough.js';
import { anthropicMessagesOverOpenAI } from './messages-over-openai.js';
import { openAIResponsesOverChat } from './responses-over-openai.js';
import { chatCompletionAsStream } from './completion-stream.js';

/** Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, Together, DeepSeek, Mistral... */
export const openAIAdapter: ProviderAdapter = {
  kind: 'openai',
  headers(cfg) {
    const h: Record<string, string> = { 'content-type': 'application/json', ...cfg.headers };
    if (cfg.api_key) h.authorization = `Bearer ${cfg.api_key}`;
    return h;
  },
  classify: classifyOpenAI,
  completionAsStream: chatCompletionAsStream,
  exchange(entry) {
    if (entry === 'openai.chat') return openAIChatPassthrough;
    if (entry === 'openai.embeddings') return openAIEmbeddingsPassthrough;
    if (entry === 'anthropic.messages') return anthropicMessagesOverOpenAI;
    // Bridged to chat completions: most compatible servers have no Responses API.
    if (entry === 'openai.responses') return openAIResponsesOverChat;
    return null;
  },
};
