import type { IncomingHttpHeaders } from 'node:http';
import type { RequestSummary } from '../../sdk/types.js';
import type { Entry } from '../providers/types.js';

/** Visit each piece of prompt text (system, instructions, messages, input) of a chat / messages / responses / embeddings body. */
export function eachPromptText(body: Record<string, unknown>, visit: (text: string) => void): void {
  const add = (v: unknown): void => {
    if (typeof v === 'string') visit(v);
    else if (Array.isArray(v)) for (const x of v) add(x);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') visit(o.text);
      else if (o.content !== undefined) add(o.content);
      else if (o.input !== undefined) add(o.input);
    }
  };
  add(body.system);
  add(body.instructions);
  add(body.messages);
  add(body.input);
}

/** Characters of prompt text in a body. */
export function promptChars(body: Record<string, unknown>): number {
  let n = 0;
  eachPromptText(body, (t) => (n += t.length));
  return n;
}

/** A cheap token estimate (~4 characters a token); the cost plugin refines it with a tokenizer. */
export function roughTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

function parseMetadata(h: string | string[] | undefined): Record<string, string> {
  if (typeof h !== 'string' || !h) return {};
  try {
    const j = JSON.parse(h) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(j)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    return out;
  } catch {
    return {};
  }
}

/** The policy-facing summary of a request: no prompt text, no secrets. */
export function summarize(entry: Entry, body: Record<string, unknown>, headers: IncomingHttpHeaders, keyId: string | null): RequestSummary {
  const max = body.max_tokens ?? body.max_completion_tokens ?? body.max_output_tokens;
  const conv = headers['x-switchyard-conversation-id'];
  const s: RequestSummary = {
    model: String(body.model),
    metadata: parseMetadata(headers['x-switchyard-metadata']),
    keyId,
    estimatedInputTokens: roughTokens(promptChars(body)),
    maxOutputTokens: typeof max === 'number' ? max : null,
    stream: body.stream === true,
    entry,
  };
  if (typeof conv === 'string' && conv) s.conversationId = conv.slice(0, 200);
  return s;
}
