import { z } from 'zod';
import { baseUrlProblem } from '../network/ssrf.js';

/** The config file's shape. Every object is strict so a typo is an error naming its path. */

const price = z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative(), cached_input: z.number().nonnegative().optional() });
const rateLimit = z.strictObject({ rpm: z.number().int().positive().optional(), tpm: z.number().int().positive().optional() });

const provider = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  kind: z.enum(['openai', 'anthropic']),
  base_url: z.string().url(),
  api_key: z.string().optional(),
  /** Extra headers sent upstream (e.g. OpenAI-Organization). */
  headers: z.record(z.string(), z.string()).default({}),
  connect_timeout_ms: z.number().int().positive().default(5000),
  /** Upper bound on open connections to this upstream. */
  max_connections: z.number().int().positive().default(256),
  /** Anthropic only: the `anthropic-version` header. */
  anthropic_version: z.string().default('2023-06-01'),
  /** Health probes (the health plugin): off unless set. */
  probe: z.strictObject({ path: z.string().default('/models'), interval_ms: z.number().int().positive().default(15000), timeout_ms: z.number().int().positive().default(3000) }).optional(),
});

const target = z.strictObject({
  provider: z.string(),
  model: z.string().min(1),
  price: price.default({ input: 0, output: 0 }),
  context_window: z.number().int().positive().optional(),
  /** Default output allowance used for cost estimates when a request has no max_tokens. */
  max_output_tokens: z.number().int().positive().optional(),
  weight: z.number().nonnegative().default(1),
  capabilities: z.array(z.enum(['tools', 'vision', 'json_schema', 'reasoning'])).optional(),
  rate_limit: rateLimit.optional(),
  /** Request parameters mapped for this target. `max_tokens_field`: what the output cap is called upstream (OpenAI reasoning models: max_completion_tokens). */
  params: z.strictObject({ max_tokens_field: z.enum(['max_tokens', 'max_completion_tokens']).optional() }).optional(),
});

const route = z.strictObject({
  model: z.string().min(1),
  strategy: z.enum(['ordered', 'cheapest', 'weighted', 'lowest-latency']).default('ordered'),
  targets: z.array(target).min(1),
  /** Extra tries of the same target on retryable classes; one budget per request. */
  retries: z.number().int().min(0).max(10).default(1),
  /** Upper bound on upstream attempts per request (default: targets + retries). */
  max_attempts: z.number().int().positive().optional(),
  /** Per attempt: time to first content. */
  timeout_ms: z.number().int().positive().default(30000),
  /** Streams: longest gap between frames once content flows. */
  idle_timeout_ms: z.number().int().positive().default(30000),
  /** Whole request, all attempts. */
  deadline_ms: z.number().int().positive().default(120000),
  /** Longest upstream Retry-After we wait for before a retry instead of falling back. */
  max_retry_wait_ms: z.number().int().min(0).default(2000),
  /** What to do on a content filter refusal. */
  on_content_filter: z.enum(['return', 'fallback']).default('return'),
  /** When every target is cooling down: refuse (429/503) or try the least-bad one. */
  when_all_cooling: z.enum(['refuse', 'try_least_bad']).default('refuse'),
  rate_limit: rateLimit.optional(),
});

const key = z.strictObject({
  id: z.string().min(1),
  key: z.string().min(8, 'client keys must be at least 8 characters'),
  routes: z.array(z.string()).optional(),
  rate_limit: rateLimit.optional(),
  budget: z.strictObject({ usd: z.number().positive(), period: z.enum(['day', 'month']) }).optional(),
});

const demoUpstream = z.strictObject({
  id: z.string(),
  port: z.number().int().min(0).max(65535),
  /** Share of requests answered with 429 (0..1). */
  fail_rate: z.number().min(0).max(1).default(0),
  latency_ms: z.number().int().min(0).default(20),
});

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        body_limit_mb: z.number().positive().default(32),
        /** SIGTERM: how long in-flight requests and streams may take to finish. */
        drain_grace_ms: z.number().int().min(0).default(30000),
        /** Upper bound on JSON nesting in request bodies. */
        max_json_depth: z.number().int().positive().default(64),
        max_messages: z.number().int().positive().default(10000),
        /** Upper bound on the request line + headers (node maxHeaderSize); larger gets 431. */
        max_header_bytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
      })
      .prefault({}),
    providers: z.array(provider).min(1),
    routes: z.array(route).min(1),
    keys: z.array(key).default([]),
    admin: z.strictObject({ token: z.string().min(16, 'admin tokens must be at least 16 characters').optional(), viewer_token: z.string().min(16).optional() }).prefault({}),
    plugins: z.array(z.union([z.string(), z.strictObject({ name: z.string(), config: z.unknown().optional() })])).optional(),
    policy: z.string().optional(),
    capture: z.strictObject({ enabled: z.boolean().default(true), prompts: z.boolean().default(false), fallback_bodies: z.number().min(0).max(1).default(0), max_rows: z.number().int().positive().default(1_000_000), max_age_days: z.number().positive().default(14) }).prefault({}),
    network: z.strictObject({ deny_private: z.boolean().default(false) }).prefault({}),
    /** Where rate-limit and budget counters live: memory (one process) or Redis (replicas share them). */
    limits: z.strictObject({ store: z.enum(['memory', 'redis']).default('memory'), redis_url: z.string().default('redis://127.0.0.1:6379'), prefix: z.string().default('switchyard:') }).prefault({}),
    logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
    /** Local fake upstreams started with the gateway (quickstart only). */
    demo: z.strictObject({ upstreams: z.array(demoUpstream) }).optional(),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    cfg.providers.forEach((p, i) => {
      const unsafe = baseUrlProblem(p.base_url, cfg.network);
      if (unsafe) ctx.addIssue({ code: 'custom', path: ['providers', i, 'base_url'], message: unsafe });
      if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `duplicate provider id "${p.id}"` });
      ids.add(p.id);
    });
    const models = new Set<string>();
    cfg.routes.forEach((r, i) => {
      if (models.has(r.model)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'model'], message: `duplicate route model "${r.model}"` });
      models.add(r.model);
      r.targets.forEach((t, j) => {
        if (!ids.has(t.provider)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'targets', j, 'provider'], message: `unknown provider "${t.provider}" (known: ${[...ids].join(', ')})` });
      });
    });
    const keyIds = new Set<string>();
    cfg.keys.forEach((k, i) => {
      if (keyIds.has(k.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id "${k.id}"` });
      keyIds.add(k.id);
      k.routes?.forEach((m, j) => {
        if (!models.has(m)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'routes', j], message: `unknown route "${m}"` });
      });
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ProviderConfig = Config['providers'][number];
export type RouteConfig = Config['routes'][number];
export type TargetConfig = RouteConfig['targets'][number];
export type KeyConfig = Config['keys'][number];
