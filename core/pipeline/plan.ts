import type { Candidate } from '../../sdk/types.js';
import { GatewayError } from '../errors.js';
import type { Route } from '../routing/table.js';
import type { Entry } from '../providers/types.js';
import { requiredCapabilities, serverStateFields } from './capabilities.js';
import type { Plan } from './context.js';

/** OpenAI chat's `stop`: "up to 4 sequences". */
const OPENAI_MAX_STOP = 4;

/**
 * The static plan: the route's targets in config order, as candidates with neutral live
 * state. Plugins fill in health, cooldown and latency and reorder in selectProvider.
 * Targets whose provider cannot serve the entry protocol are left out, and so are targets
 * lacking a capability the request needs (tools, vision, json_schema, reasoning); when that
 * leaves none, the request is refused with SY_ERR_NO_CAPABLE_TARGET naming the entry or the capability.
 *
 * An Anthropic request with more stop_sequences than OpenAI's chat API takes (4) prefers
 * targets that take them: when an Anthropic target remains, OpenAI-compatible ones are left
 * out (OpenAI answers 400, a request-level error that would end the request before the capable
 * target is tried). When only OpenAI-compatible targets remain they are kept: many of those
 * servers (vLLM, Ollama, DeepSeek) accept more, and OpenAI's own 400 names its limit.
 *
 * A Responses request that relies on the upstream's stored state (previous_response_id,
 * conversation, a stored prompt, item references) skips every target whose exchange cannot
 * resolve it (the bridges to chat completions and Messages): dropping the field would answer 200
 * without the history. When none remains it is a 400 naming the field, in the OpenAI shape.
 */
export function staticPlan(route: Route, entry: Entry, body?: Record<string, unknown>): Plan {
  const needs = body ? requiredCapabilities(entry, body) : [];
  // Several choices (chat `n` > 1): an Anthropic upstream answers one completion a request.
  const choices = entry === 'openai.chat' && typeof body?.n === 'number' && body.n > 1;
  const stops = entry === 'anthropic.messages' && Array.isArray(body?.stop_sequences) ? body.stop_sequences.length : 0;
  const state = body ? serverStateFields(entry, body) : ([] as readonly string[]);
  const candidates: Candidate[] = [];
  const kinds: string[] = [];
  let servable = 0;
  let lackedCapability = false;
  const missing = new Set<string>();
  for (const t of route.targets) {
    const ex = t.provider.adapter.exchange(entry);
    if (!ex) continue;
    servable++;
    if (state.length && !ex.responsesState) {
      missing.add(`${state.join(', ')} (server-side Responses state; a target bridged to chat completions or Anthropic Messages keeps none: send the whole conversation in input)`);
      continue;
    }
    if (choices && t.provider.kind === 'anthropic') {
      missing.add(`n=${String(body!.n)} (an Anthropic target returns one choice)`);
      continue;
    }
    const lacks = needs.filter((c) => !t.capabilities.includes(c));
    if (lacks.length) {
      for (const c of lacks) missing.add(c);
      lackedCapability = true;
      continue;
    }
    candidates.push({
      id: t.id,
      provider: t.provider.id,
      model: t.model,
      healthy: true,
      coolingDown: false,
      healthScore: 1,
      latencyMs: null,
      price: t.price,
      contextWindow: t.contextWindow,
      weight: t.weight,
      capabilities: t.capabilities,
    });
    kinds.push(t.provider.kind);
  }
  if (stops > OPENAI_MAX_STOP && kinds.includes('anthropic') && kinds.includes('openai')) {
    for (let i = candidates.length - 1; i >= 0; i--) if (kinds[i] === 'openai') candidates.splice(i, 1);
    missing.add(`stop_sequences=${stops} (an OpenAI-compatible target takes at most ${OPENAI_MAX_STOP})`);
  }
  if (servable === 0) {
    // No provider kind of this route speaks the entry (embeddings on Anthropic): no retry helps.
    throw new GatewayError('SY_ERR_NO_CAPABLE_TARGET', `no target of model "${route.model}" can serve this endpoint (${entry}): its providers have no such API`);
  }
  if (candidates.length === 0) {
    const names = [...missing].join(', ');
    const hint = lackedCapability ? ' (targets declare capabilities in the config)' : '';
    throw new GatewayError('SY_ERR_NO_CAPABLE_TARGET', `no target of model "${route.model}" supports what this request needs: ${names}${hint}`, state.length ? { param: state[0] } : {});
  }
  const skipped = servable - candidates.length;
  return { candidates, reason: skipped ? `route order (${skipped} target${skipped === 1 ? '' : 's'} without ${[...missing].join(', ')} skipped)` : 'route order', maxAttempts: route.maxAttempts };
}
