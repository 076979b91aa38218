import type { FrameVerdict, StreamTranslator, Usage } from '../types.js';
import type { OpenAIChatResponse } from '../../translate/types.js';
import { ChatStreamReader } from './chat-stream-reader.js';
import { openAIUsage } from './usage.js';

/** A chat-chunk → client-protocol event translator (core/translate). */
export interface ChunkTranslator<E extends { type: string }> {
  push(chunk: object): E[];
  end(): E[];
}

const noContent = { class: 'server_error' as const, status: null, message: 'upstream stream finished without content', retryAfterMs: null };

/**
 * An OpenAI-compatible chat stream served to a client of another protocol. The translator's
 * opening events (message_start, response.created...) are held with the role chunk until
 * content arrives; the stream is complete at [DONE] or at the client protocol's own end event.
 */
export class TranslatedChatStream<E extends { type: string }> implements StreamTranslator {
  private readonly reader = new ChatStreamReader();
  private started = false;
  private finished = false;

  constructor(
    private readonly tr: ChunkTranslator<E>,
    private readonly serialize: (e: E) => string,
    /** Event types that end the client's stream. */
    private readonly terminal: ReadonlySet<string>,
    /** The client protocol's error event for a failure after content. */
    private readonly failure: (message: string, code: string) => string,
  ) {}

  private frames(events: E[]): string {
    return events.map(this.serialize).join('');
  }

  frame(_event: string | undefined, data: string): FrameVerdict {
    const r = this.reader.read(data);
    if (r.kind === 'error') return r;
    if (r.kind === 'done') {
      if (!this.started) return { kind: 'error', failure: noContent };
      return { kind: 'done', out: this.frames(this.tr.end()) };
    }
    this.started = true;
    const events = this.tr.push(r.chunk);
    if (events.some((e) => this.terminal.has(e.type))) this.finished = true;
    return { kind: r.content || this.finished ? 'content' : 'lifecycle', out: this.frames(events) };
  }

  end() {
    // [DONE] is the terminator; an upstream that closed after the client's end event is complete too.
    return { out: '', complete: this.reader.done || this.finished };
  }

  contentFiltered(): boolean {
    return this.reader.finishReason === 'content_filter';
  }

  usage(estimatedInputTokens: number): Usage {
    return this.reader.usage(estimatedInputTokens);
  }

  errorEvent(message: string, code: string): string {
    return this.failure(message, code);
  }
}

/** Parse a 2xx chat completion; throws when it is not one (garbage: a server_error). */
export function parseChatCompletion(raw: Buffer): { json: OpenAIChatResponse; usage: Usage | null; contentFiltered: boolean } {
  const json = JSON.parse(raw.toString('utf8')) as OpenAIChatResponse & { error?: unknown };
  if (!json || typeof json !== 'object' || json.error || !Array.isArray(json.choices)) throw new Error('upstream 200 is not a chat completion');
  return { json, usage: openAIUsage(json.usage), contentFiltered: json.choices[0]?.finish_reason === 'content_filter' };
}
