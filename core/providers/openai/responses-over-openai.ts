import type { Exchange, StreamInfo } from '../types.js';
import type { Target } from '../../routing/table.js';
import { ChatStreamToResponses, chatResponseToResponses, responsesRequestToChat, serializeResponsesEvent } from '../../translate/responses-to-chat.js';
import type { ResponsesRequest, ResponsesStreamEvent } from '../../translate/types.js';
import { TranslatedChatStream, parseChatCompletion } from './translated-stream.js';

/**
 * OpenAI Responses entry → chat completions upstream (core/translate/responses-to-chat), for
 * the many OpenAI-compatible servers without a Responses API. Stateless: no hosted tools, and no
 * previous_response_id / conversation / stored prompts (no `responsesState`: the plan keeps such
 * requests off this bridge rather than answer without the history). Error bodies are
 * OpenAI-shaped on both sides.
 */

const RESPONSE_END = new Set(['response.completed', 'response.incomplete']);

export const openAIResponsesOverChat: Exchange = {
  request(body, target: Target) {
    const chat = responsesRequestToChat(body as ResponsesRequest, target.model, { maxTokensField: target.maxTokensField ?? 'max_tokens' });
    return { path: '/chat/completions', body: JSON.stringify(chat) };
  },
  response(raw, _target, publicModel, clientBody) {
    const { json, usage, contentFiltered } = parseChatCompletion(raw);
    const body = chatResponseToResponses(json, publicModel, clientBody as Partial<ResponsesRequest> | undefined);
    return { body: JSON.stringify(body), usage, contentFiltered };
  },
  stream(_target, publicModel, _includeUsage, info?: StreamInfo) {
    // response.created / in_progress are held with the role chunk. The Responses stream has no
    // [DONE]: it ends with response.completed / incomplete; a failure is `error` then response.failed.
    const tr = new ChatStreamToResponses({ publicModel, request: info?.body as Partial<ResponsesRequest> | undefined });
    return new TranslatedChatStream<ResponsesStreamEvent>(tr, serializeResponsesEvent, RESPONSE_END, (message, code) => tr.error(message, code).map(serializeResponsesEvent).join(''));
  },
};
