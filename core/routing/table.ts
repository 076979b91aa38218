import type { Pool } from 'undici';
import type { Config, ProviderConfig, RouteConfig } from '../config/schema.js';
import type { Price } from '../../sdk/types.js';
import type { ProviderAdapter } from '../providers/types.js';

/** A configured upstream: adapter, pool and the headers sent on every call (auth included). */
export interface Provider {
  id: string;
  kind: ProviderConfig['kind'];
  config: ProviderConfig;
  adapter: ProviderAdapter;
  pool: Pool;
  /** Path prefix of base_url ("/v1"), prepended to every call. */
  basePath: string;
  headers: Record<string, string>;
}

/** Provider + upstream model + price: one entry of a Route. */
export interface Target {
  /** Stable id: `${route}#${index}:${provider}/${model}`. */
  id: string;
  index: number;
  route: string;
  provider: Provider;
  model: string;
  price: Price;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  weight: number;
  capabilities: string[];
  rateLimit?: { rpm?: number; tpm?: number };
  /**
   * What the output cap is called upstream when it differs from what clients send: target
   * `params.max_tokens_field`, else `max_completion_tokens` for OpenAI reasoning models
   * (o1/o3/o4, gpt-5) on `kind: openai`; undefined = leave the client's field as is.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** OpenAI models that refuse `max_tokens` and want `max_completion_tokens`. */
const REASONING_MODEL = /^(o[1-9]|gpt-5)(\b|[-._])/;

/** A public model name and its ordered candidate targets, with the attempt settings. */
export interface Route {
  model: string;
  strategy: RouteConfig['strategy'];
  targets: Target[];
  targetsById: Map<string, Target>;
  retries: number;
  maxAttempts: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  deadlineMs: number;
  maxRetryWaitMs: number;
  onContentFilter: RouteConfig['on_content_filter'];
  whenAllCooling: RouteConfig['when_all_cooling'];
  rateLimit?: { rpm?: number; tpm?: number };
}

export function targetId(route: string, index: number, provider: string, model: string): string {
  return `${route}#${index}:${provider}/${model}`;
}

export function buildRoutes(config: Config, providers: Map<string, Provider>): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const r of config.routes) {
    const targets: Target[] = r.targets.map((t, index) => ({
      id: targetId(r.model, index, t.provider, t.model),
      index,
      route: r.model,
      provider: providers.get(t.provider)!,
      model: t.model,
      price: t.price,
      contextWindow: t.context_window ?? null,
      maxOutputTokens: t.max_output_tokens ?? null,
      weight: t.weight,
      capabilities: t.capabilities ?? ['tools', 'vision', 'json_schema', 'reasoning'],
      rateLimit: t.rate_limit,
      maxTokensField: t.params?.max_tokens_field ?? (providers.get(t.provider)?.kind === 'openai' && REASONING_MODEL.test(t.model) ? 'max_completion_tokens' : undefined),
    }));
    routes.set(r.model, {
      model: r.model,
      strategy: r.strategy,
      targets,
      targetsById: new Map(targets.map((t) => [t.id, t])),
      retries: r.retries,
      maxAttempts: r.max_attempts ?? targets.length + r.retries,
      timeoutMs: r.timeout_ms,
      idleTimeoutMs: r.idle_timeout_ms,
      deadlineMs: r.deadline_ms,
      maxRetryWaitMs: r.max_retry_wait_ms,
      onContentFilter: r.on_content_filter,
      whenAllCooling: r.when_all_cooling,
      rateLimit: r.rate_limit,
    });
  }
  return routes;
}
