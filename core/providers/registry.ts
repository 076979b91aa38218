import type { ProviderConfig } from '../config/schema.js';
import type { ProviderAdapter } from './types.js';
import { openAIAdapter } from './openai/adapter.js';
import { anthropicAdapter } from './anthropic/adapter.js';

/** Provider kinds by config `kind`. */
const adapters = new Map<string, ProviderAdapter>([
  ['openai', openAIAdapter],
  ['anthropic', anthropicAdapter],
]);

export function registerAdapter(adapter: ProviderAdapter): void {
  adapters.set(adapter.kind, adapter);
}

export function adapterFor(cfg: ProviderConfig): ProviderAdapter {
  const a = adapters.get(cfg.kind);
  if (!a) throw new Error(`provider ${cfg.id}: no adapter for kind "${cfg.kind}"`);
  return a;
}
