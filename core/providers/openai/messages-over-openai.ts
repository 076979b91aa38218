import type { Exchange, StreamInfo } from '../types.js';
import type { Target } from '../../routing/table.js';
import { OpenAIChatStreamToAnthropic, anthropicRequestToOpenAIChat, openAIChatResponseToAnthropic, serializeAnthropicEvent } from '../../translate/anthropic-to-openai.js';
import { openAIErrorToAnthropic } from '../../translate/errors.js';
import { wantsThinking } from '../../translate/thinking.js';
import { type AnthropicEvent, type AnthropicMessagesRequest, isRecord } from '../../translate/types.js';
import { anthropicErrorEvent } from '../anthropic/events.js';
import { TranslatedChatStream, parseChatCompletion } from './translated-stream.js';

const MESSAGE_END = new Set(['message_stop']);

/**
 * Anthropic Messages entry → OpenAI-compatible upstream (core/translate/anthropic-to-openai):
 * /chat/completions with stream_options.include_usage on streams, so usage is exact.
 */

/** OpenAI-shaped (or any) upstream error body → the Anthropic error shape (status unchanged). */
function toAnthropicError(status: number, body: Buffer): Buffer {
  if (status < 400) return body;
  let parsed: unknown = body.toString('utf8');
  try {
    parsed = JSON.parse(parsed as string);
  } catch {
    // not JSON: the text itself is the message
  }
  // Already Anthropic-shaped (a gateway-made error, or a server that speaks it): as is.
  if (isRecord(parsed) && parsed.type === 'error' && isRecord(parsed.error)) return body;
  return Buffer.from(JSON.stringify(openAIErrorToAnthropic(status, parsed)));
}

export const anthropicMessagesOverOpenAI: Exchange = {
  request(body, target: Target) {
    const chat = anthropicRequestToOpenAIChat(body as AnthropicMessagesRequest, target.model, { maxTokensField: target.maxTokensField ?? 'max_tokens' });
    return { path: '/chat/completions', body: JSON.stringify(chat) };
  },
  response(raw, _target, publicModel, clientBody) {
    const { json, usage, contentFiltered } = parseChatCompletion(raw);
    return { body: JSON.stringify(openAIChatResponseToAnthropic(json, publicModel, { thinking: wantsThinking(clientBody) })), usage, contentFiltered };
  },
  stream(_target, publicModel, _includeUsage, info?: StreamInfo) {
    // message_start is held with the role chunk; message_stop ends the client's stream.
    const tr = new OpenAIChatStreamToAnthropic({ publicModel, estimatedInputTokens: info?.estimatedInputTokens ?? 0, thinking: wantsThinking(info?.body) });
    return new TranslatedChatStream<AnthropicEvent>(tr, serializeAnthropicEvent, MESSAGE_END, anthropicErrorEvent);
  },
  errorBody: toAnthropicError,
};
