import type { Candidate } from '../../sdk/types.js';
import { GatewayError } from '../errors.js';
import type { Route } from '../routing/table.js';
import type { Entry } from '../providers/types.js';
import { requiredCapabilities } from './capabilities.js';
import type { Plan } from './context.js';

/**
 * The static plan: the route's targets in config order, as candidates with neutral live
 * state. Plugins fill in health, cooldown and latency and reorder in selectProvider.
 * Targets whose provider cannot serve the entry protocol are left out, and so are targets
 * lacking a capability the request needs (tools, vision, json_schema, reasoning); when that
 * leaves none, the request is refused with SY_ERR_NO_CAPABLE_TARGET naming the entry or the capability.
 */
export function staticPlan(route: Route, entry: Entry, body?: Record<string, unknown>): Plan {
  const needs = body ? requiredCapabilities(entry, body) : [];
  // Several choices (chat `n` > 1): an Anthropic upstream answers one completion a request.
  const choices = entry === 'openai.chat' && typeof body?.n === 'number' && body.n > 1;
  const candidates: Candidate[] = [];
  let servable = 0;
  const missing = new Set<string>();
  for (const t of route.targets) {
    if (!t.provider.adapter.exchange(entry)) continue;
    servable++;
    if (choices && t.provider.kind === 'anthropic') {
      missing.add(`n=${String(body!.n)} (an Anthropic target returns one choice)`);
      continue;
    }
    const lacks = needs.filter((c) => !t.capabilities.includes(c));
    if (lacks.length) {
      for (const c of lacks) missing.add(c);
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
  }
  if (servable === 0) {
    // No provider kind of this route speaks the entry (embeddings on Anthropic): no retry helps.
    throw new GatewayError('SY_ERR_NO_CAPABLE_TARGET', `no target of model "${route.model}" can serve this endpoint (${entry}): its providers have no such API`);
  }
  if (candidates.length === 0) {
    const names = [...missing].join(', ');
    throw new GatewayError('SY_ERR_NO_CAPABLE_TARGET', `no target of model "${route.model}" supports what this request needs: ${names} (targets declare capabilities in the config)`);
  }
  const skipped = servable - candidates.length;
  return { candidates, reason: skipped ? `route order (${skipped} target${skipped === 1 ? '' : 's'} without ${[...missing].join(', ')} skipped)` : 'route order', maxAttempts: route.maxAttempts };
}
