import type { Exchange, FrameVerdict, StreamTranslator, Usage } from '../types.js';
import type { Target } from '../../routing/table.js';
import { AnthropicStreamReader, anthropicErrorEvent, anthropicUsage } from './events.js';
import { anthropicPath, defaultMaxTokens } from './paths.js';
import { dataLines } from '../../streaming/sse.js';
import { withoutUnsignedThinking } from '../../translate/thinking.js';

/**
 * Anthropic Messages entry → Anthropic upstream: the body passes through with the model
 * rewritten (and max_tokens defaulted); stream events pass through as they came.
 */

/** Client headers forwarded on the passthrough: beta features change what the body may hold. */
const FORWARDED = ['anthropic-beta'];

class AnthropicMessagesRelay implements StreamTranslator {
  private readonly reader = new AnthropicStreamReader();

  frame(event: string | undefined, data: string): FrameVerdict {
    const r = this.reader.read(event, data);
    if (!r.ok) return { kind: 'error', failure: r.failure };
    return { kind: r.kind, out: `event: ${r.type}\n${dataLines(data)}\n\n` };
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
    return anthropicErrorEvent(message, code);
  }
}

export const anthropicMessagesPassthrough: Exchange = {
  request(body, target: Target, clientHeaders) {
    // Unsigned thinking blocks (made by the gateway from another upstream's reasoning) would be a 400 here.
    const out: Record<string, unknown> = { ...withoutUnsignedThinking(body), model: target.model };
    if (typeof out.max_tokens !== 'number') out.max_tokens = defaultMaxTokens(target);
    let headers: Record<string, string> | undefined;
    for (const h of FORWARDED) {
      const v = clientHeaders?.[h];
      if (typeof v === 'string' && v) (headers ??= {})[h] = v;
    }
    return { path: anthropicPath(target, '/messages'), body: JSON.stringify(out), headers };
  },
  response(raw) {
    const json = JSON.parse(raw.toString('utf8')) as { type?: string; content?: unknown; usage?: unknown; stop_reason?: string };
    if (!json || typeof json !== 'object' || json.type !== 'message' || !Array.isArray(json.content)) throw new Error('upstream 200 is not a message');
    return { body: raw, usage: anthropicUsage(json.usage), contentFiltered: json.stop_reason === 'refusal' };
  },
  stream() {
    return new AnthropicMessagesRelay();
  },
};
