/**
 * A whole chat completion as the chat.completion.chunk stream that would have carried it: for an
 * upstream that answers a stream request with JSON. Per choice a role chunk, then one chunk with
 * the whole message and its finish_reason (content and finish together, as some servers send the
 * last chunk: the relay then sees the answer's finish at its first content), then usage in the
 * chunk OpenAI sends for `stream_options.include_usage` (no choices), then [DONE]. The frames go
 * through the exchange's stream translator like real ones.
 *
 * The usage chunk is named REPLAYED_USAGE_EVENT: the chat passthrough forwards it only to a client
 * that asked for include_usage (a real stream carries usage only then) and otherwise just counts
 * it; the translations to other protocols read it like any chunk, since their streams always end
 * with usage. The name never reaches a client (chat clients get data lines only).
 */

export const REPLAYED_USAGE_EVENT = 'switchyard.replayed_usage';

interface Message {
  role?: string;
  content?: unknown;
  refusal?: unknown;
  tool_calls?: unknown;
  function_call?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
}

interface Completion {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  system_fingerprint?: unknown;
  service_tier?: unknown;
  error?: unknown;
  choices?: { index?: unknown; message?: Message; finish_reason?: unknown; logprobs?: unknown }[];
  usage?: unknown;
}

export function chatCompletionAsStream(raw: Buffer): string | null {
  let json: Completion;
  try {
    json = JSON.parse(raw.toString('utf8')) as Completion;
  } catch {
    return null;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json) || json.error != null || !Array.isArray(json.choices) || json.choices.length === 0) return null;
  const base: Record<string, unknown> = {
    id: typeof json.id === 'string' ? json.id : 'chatcmpl-switchyard',
    object: 'chat.completion.chunk',
    created: typeof json.created === 'number' ? json.created : Math.floor(Date.now() / 1000),
    model: typeof json.model === 'string' ? json.model : '',
  };
  if (json.system_fingerprint !== undefined) base.system_fingerprint = json.system_fingerprint;
  if (json.service_tier !== undefined) base.service_tier = json.service_tier;
  let out = '';
  const frame = (choice: Record<string, unknown>) => {
    out += `data: ${JSON.stringify({ ...base, choices: [choice] })}\n\n`;
  };
  const choices = json.choices;
  choices.forEach((c, i) => {
    const index = typeof c?.index === 'number' ? c.index : i;
    const m: Message = c?.message && typeof c.message === 'object' ? c.message : {};
    frame({ index, delta: { role: typeof m.role === 'string' ? m.role : 'assistant', content: '' }, logprobs: null, finish_reason: null });
    const delta: Record<string, unknown> = {};
    if (typeof m.content === 'string' && m.content !== '') delta.content = m.content;
    if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') delta.reasoning_content = m.reasoning_content;
    if (typeof m.reasoning === 'string' && m.reasoning !== '') delta.reasoning = m.reasoning;
    if (typeof m.refusal === 'string' && m.refusal !== '') delta.refusal = m.refusal;
    if (Array.isArray(m.tool_calls) && m.tool_calls.length) delta.tool_calls = m.tool_calls.map((tc, k) => ({ index: k, ...(tc as object) }));
    if (m.function_call != null) delta.function_call = m.function_call;
    const finish = typeof c?.finish_reason === 'string' ? c.finish_reason : 'stop';
    frame({ index, delta, logprobs: c?.logprobs ?? null, finish_reason: finish });
  });
  if (json.usage != null) out += `event: ${REPLAYED_USAGE_EVENT}\ndata: ${JSON.stringify({ ...base, choices: [], usage: json.usage })}\n\n`;
  return out + 'data: [DONE]\n\n';
}
