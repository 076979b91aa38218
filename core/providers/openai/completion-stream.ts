/**
 * A whole chat completion as the chat.completion.chunk stream that would have carried it: for an
 * upstream that answers a stream request with JSON. Per choice a role chunk, then one chunk with
 * the whole message and its finish_reason (content and finish together, as some servers send the
 * last chunk: the relay then sees the answer's finish at its first content), usage on the last
 * one, then [DONE]. The frames go through the exchange's stream translator like real ones.
 */

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
  const frame = (choice: Record<string, unknown>, usage?: unknown) => {
    out += `data: ${JSON.stringify(usage ? { ...base, choices: [choice], usage } : { ...base, choices: [choice] })}\n\n`;
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
    frame({ index, delta, logprobs: c?.logprobs ?? null, finish_reason: finish }, i === choices.length - 1 ? json.usage : undefined);
  });
  return out + 'data: [DONE]\n\n';
}
