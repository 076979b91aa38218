/**
 * A whole Anthropic message as the Messages event stream that would have carried it: for an
 * upstream that answers a stream request with JSON. message_start (usage so far), per content
 * block a start, its delta(s) and a stop, message_delta (stop_reason, usage), message_stop. The
 * events go through the exchange's stream translator like real ones.
 */

type Block = Record<string, unknown> & { type?: unknown };

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function blockEvents(block: Block, index: number): string {
  switch (block.type) {
    case 'text': {
      const { text, ...rest } = block;
      let out = event('content_block_start', { index, content_block: { ...rest, text: '' } });
      if (typeof text === 'string' && text !== '') out += event('content_block_delta', { index, delta: { type: 'text_delta', text } });
      return out;
    }
    case 'tool_use':
    case 'server_tool_use': {
      const { input, ...rest } = block;
      let out = event('content_block_start', { index, content_block: { ...rest, input: {} } });
      out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(input ?? {}) } });
      return out;
    }
    case 'thinking': {
      const { thinking, signature, ...rest } = block;
      let out = event('content_block_start', { index, content_block: { ...rest, thinking: '', signature: '' } });
      if (typeof thinking === 'string' && thinking !== '') out += event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } });
      if (typeof signature === 'string' && signature !== '') out += event('content_block_delta', { index, delta: { type: 'signature_delta', signature } });
      return out;
    }
    default:
      // redacted_thinking, tool results...: the real API sends these whole in content_block_start.
      return event('content_block_start', { index, content_block: block });
  }
}

export function anthropicMessageAsStream(raw: Buffer): string | null {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!msg || typeof msg !== 'object' || msg.type !== 'message' || !Array.isArray(msg.content)) return null;
  const usage = (msg.usage && typeof msg.usage === 'object' ? msg.usage : {}) as Record<string, unknown>;
  let out = event('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } } });
  (msg.content as unknown[]).forEach((b, index) => {
    if (!b || typeof b !== 'object') return;
    out += blockEvents(b as Block, index);
    out += event('content_block_stop', { index });
  });
  out += event('message_delta', { delta: { stop_reason: msg.stop_reason ?? 'end_turn', stop_sequence: msg.stop_sequence ?? null }, usage });
  return out + event('message_stop', {});
}
