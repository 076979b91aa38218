/** A one-route config over upstreams of either kind, tried in order (provider ids p1, p2, ...). */
export function routeOverKinds(ups: { kind: 'openai' | 'anthropic'; url: string; target?: Record<string, unknown>; provider?: Record<string, unknown> }[], route: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: ups.map((u, i) => ({ id: `p${i + 1}`, kind: u.kind, base_url: u.url, api_key: `sk-test-provider-key-${i + 1}`, ...u.provider })),
    routes: [{ model: 'm', targets: ups.map((u, i) => ({ provider: `p${i + 1}`, model: `up-model-${i + 1}`, ...u.target })), ...route }],
    ...extra,
  };
}

/** Parse raw SSE text into { event, data } pairs (data parsed as JSON when it is). */
export function parseSse(text: string): { event: string | undefined; data: unknown }[] {
  const out: { event: string | undefined; data: unknown }[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let event: string | undefined;
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    let parsed: unknown = data;
    try {
      parsed = JSON.parse(data);
    } catch {
      // [DONE] and friends stay strings
    }
    out.push({ event, data: parsed });
  }
  return out;
}
