import type { Exchange, FrameVerdict, StreamInfo, StreamTranslator, Usage } from '../types.js';
import type { Target } from '../../routing/table.js';
import {
  AnthropicStreamToOpenAIChat,
  OPENAI_STREAM_DONE,
  anthropicResponseToOpenAIChat,
  openAIChatRequestToAnthropic,
  serializeOpenAIChunk,
} from '../../translate/openai-to-anthropic.js';
import { ChatStreamToResponses, chatResponseToResponses, responsesRequestToChat, serializeResponsesEvent } from '../../translate/responses-to-chat.js';
import { anthropicErrorToOpenAI } from '../../translate/errors.js';
import { type AnthropicMessage, type OpenAIChatChunk, type OpenAIChatRequest, type ResponsesRequest, type ResponsesStreamEvent, isRecord } from '../../translate/types.js';
import { AnthropicStreamReader, anthropicUsage } from './events.js';
import { anthropicPath, defaultMaxTokens } from './paths.js';

/**
 * OpenAI clients over an Anthropic upstream: chat completions (core/translate/openai-to-anthropic)
 * and, composed with the Responses bridge (core/translate/responses-to-chat), the Responses API.
 */

function decodeMessage(raw: Buffer): AnthropicMessage {
  const json = JSON.parse(raw.toString('utf8')) as AnthropicMessage;
  if (!json || typeof json !== 'object' || json.type !== 'message' || !Array.isArray(json.content)) throw new Error('upstream 200 is not a message');
  return json;
}

/** Anthropic error bodies → the OpenAI error shape (status unchanged). */
function toOpenAIError(status: number, body: Buffer): Buffer {
  if (status < 400) return body;
  let parsed: unknown = body.toString('utf8');
  try {
    parsed = JSON.parse(parsed as string);
  } catch {
    // not JSON: the text itself is the message
  }
  // Already OpenAI-shaped (a gateway-made error, or a proxy that speaks it): as is.
  if (isRecord(parsed) && parsed.type !== 'error' && isRecord(parsed.error) && typeof parsed.error.message === 'string') return body;
  return Buffer.from(JSON.stringify(anthropicErrorToOpenAI(status, parsed)));
}

function openAIErrorEvent(message: string, code: string): string {
  return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`;
}

function anthropicRequest(body: Record<string, unknown>, target: Target): string {
  return JSON.stringify(openAIChatRequestToAnthropic(body as OpenAIChatRequest, target.model, defaultMaxTokens(target)));
}

/**
 * An Anthropic event stream served to an OpenAI-protocol client: the reader decides what is
 * held, what is content and when the stream is done; `translate` turns one event into the
 * client's SSE bytes; `failure` is the client protocol's error event after content.
 */
class OpenAIOverAnthropicStream implements StreamTranslator {
  private readonly reader = new AnthropicStreamReader();

  constructor(
    private readonly translate: (type: string, json: object, done: boolean) => string,
    private readonly failure: (message: string, code: string) => string,
  ) {}

  frame(event: string | undefined, data: string): FrameVerdict {
    const r = this.reader.read(event, data);
    if (!r.ok) return { kind: 'error', failure: r.failure };
    return { kind: r.kind, out: this.translate(r.type, r.json, r.kind === 'done') };
  }

  end() {
    return { out: '', complete: this.reader.stopped };
  }

  contentFiltered(): boolean {
    return this.reader.stopReason === 'refusal';
  }

  usage(estimatedInputTokens: number): Usage {
    return this.reader.usage(estimatedInputTokens);
  }

  errorEvent(message: string, code: string): string {
    return this.failure(message, code);
  }
}

/** Anthropic events → chat.completion.chunk frames, ending with [DONE] after message_stop. */
function chatOverAnthropicStream(publicModel: string, includeUsage: boolean): StreamTranslator {
  const tr = new AnthropicStreamToOpenAIChat({ publicModel, includeUsage });
  return new OpenAIOverAnthropicStream((type, json, done) => {
    let out = '';
    for (const f of tr.push(type, json)) out += serializeOpenAIChunk(f);
    return done ? out + OPENAI_STREAM_DONE : out;
  }, openAIErrorEvent);
}

/** Anthropic events → chat chunks → Responses events; response.completed after message_stop. */
function responsesOverAnthropicStream(publicModel: string, request: Record<string, unknown> | undefined): StreamTranslator {
  // Usage is always asked for: response.completed carries it.
  const chat = new AnthropicStreamToOpenAIChat({ publicModel, includeUsage: true });
  const resp = new ChatStreamToResponses({ publicModel, request: request as Partial<ResponsesRequest> | undefined });
  const serialize = (events: ResponsesStreamEvent[]) => events.map(serializeResponsesEvent).join('');
  return new OpenAIOverAnthropicStream((type, json, done) => {
    let out = '';
    for (const f of chat.push(type, json)) if (!('error' in f)) out += serialize(resp.push(f as OpenAIChatChunk));
    return done ? out + serialize(resp.end()) : out;
  }, (message, code) => serialize(resp.error(message, code)));
}

export const openAIChatOverAnthropic: Exchange = {
  request(body, target) {
    return { path: anthropicPath(target, '/messages'), body: anthropicRequest(body, target) };
  },
  response(raw, _target, publicModel) {
    const msg = decodeMessage(raw);
    return { body: JSON.stringify(anthropicResponseToOpenAIChat(msg, publicModel)), usage: anthropicUsage(msg.usage), contentFiltered: msg.stop_reason === 'refusal' };
  },
  stream(_target, publicModel, includeUsage) {
    return chatOverAnthropicStream(publicModel, includeUsage);
  },
  errorBody: toOpenAIError,
};

export const openAIResponsesOverAnthropic: Exchange = {
  request(body, target) {
    const chat = responsesRequestToChat(body as ResponsesRequest, target.model);
    return { path: anthropicPath(target, '/messages'), body: anthropicRequest(chat, target) };
  },
  response(raw, _target, publicModel, clientBody) {
    const msg = decodeMessage(raw);
    const chat = anthropicResponseToOpenAIChat(msg, publicModel);
    return { body: JSON.stringify(chatResponseToResponses(chat, publicModel, clientBody as Partial<ResponsesRequest> | undefined)), usage: anthropicUsage(msg.usage), contentFiltered: msg.stop_reason === 'refusal' };
  },
  stream(_target, publicModel, _includeUsage, info?: StreamInfo) {
    return responsesOverAnthropicStream(publicModel, info?.body);
  },
  errorBody: toOpenAIError,
};
