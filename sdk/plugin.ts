/**
 * The plugin API: what built-in and community plugins import. A plugin is plain data
 * (`definePlugin` only adds types). Hook contract, per phase, in order of the request:
 *
 * - preRoute(ctx): runs before routing. May tag `ctx.summary.metadata`, rewrite `ctx.body`,
 *   add `ctx.responseHeaders`, or reject by throwing `new GatewayError(code, message)`.
 * - selectProvider(ctx, plan): gets the current Plan (ordered candidates) and may return a new
 *   one (filter, reorder, annotate candidates) or nothing to keep it. Only candidates it was
 *   given may appear. Hooks run in plugin order; the active policy (if any) runs last.
 * - beforeAttempt(ctx, target): just before each attempt on a target — the first try, a retry of
 *   the same target, a fallback, and each half of a hedged pair. `target` is the route's Target
 *   (the object `outcome.served` is; `target.id` is the candidate id and onError's
 *   `attempt.target`, `target.provider.id` the provider's config id, `target.model` the upstream
 *   model). Return nothing to go ahead, or `{ skip: reason }` to skip the target like one whose
 *   rate limit is exhausted: no attempt is spent, onError is not called, the loop moves to the
 *   next target, and later beforeAttempt hooks do not run. The target's own `rate_limit` is
 *   charged only after every hook let it through. A request that ends with nothing tried gets
 *   503 SY_ERR_UPSTREAM_EXHAUSTED (Retry-After, `x-should-retry: false`) naming the plugin and
 *   the reason; after a real upstream failure, that failure stays the answer. The place to take
 *   something only for the target really tried (a trial, a concurrency slot). Keep it
 *   synchronous when you can: it runs per attempt, and only a returned promise is awaited.
 * - onError(ctx, attempt, failure, action): after a failed attempt, with the action the core
 *   proposes ('retry' | 'fallback' | 'fail'); may return another. The last answer stands.
 *   Also runs for a hedged attempt that failed on its own before the other half answered
 *   (its action is not used).
 * - afterAttempt(ctx, target, result, attempt): once for every target beforeAttempt ran on,
 *   when the gateway is done with it. `result` is 'answered' (its answer is served; how the
 *   response ends is postResponse's), 'failed' (after onError), 'cancelled' (cut by the
 *   request's own abort, or it lost a hedged race: it says nothing about the target) or
 *   'skipped' (a beforeAttempt hook or the target's rate limit refused it; `attempt` is null).
 *   Give back here what beforeAttempt took, so a target is not held while the rest of the
 *   request runs. Not awaited (a rejected promise is logged and counted) and never fails the
 *   request. If the request fails inside a plugin (SY_ERR_PLUGIN) a call may be missing:
 *   postResponse always runs, so release anything still held there too.
 * - postResponse(ctx, outcome): after the response is sent, never on the client's path.
 *
 * Hooks of one phase run in registration order (the `plugins:` list, dependencies first).
 * A hook that throws is logged and counted, and the request goes on without it — unless the
 * plugin is `critical: true`, when the request fails with SY_ERR_PLUGIN.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ZodType } from 'zod';
import type { AfterAttemptHook, BeforeAttemptHook, OnErrorHook, PostResponseHook, PreRouteHook, SelectProviderHook } from '../core/pipeline/hooks.js';
import type { StateStore } from '../core/state/store.js';
import type { Route } from '../core/routing/table.js';

export type { AttemptRecord, Outcome, Plan, RequestContext, RouteMode } from '../core/pipeline/context.js';
export { isRequestLevel, type Failure } from '../core/attempts/failure.js';
export type { Route, Target } from '../core/routing/table.js';
export type { StateStore } from '../core/state/store.js';
export type { AfterAttemptHook, AttemptEnd, BeforeAttemptHook, OnErrorHook, PostResponseHook, PreRouteHook, SelectProviderHook } from '../core/pipeline/hooks.js';
export { GatewayError, type ErrorCode } from '../core/errors.js';

export interface PluginHooks {
  preRoute?: PreRouteHook;
  selectProvider?: SelectProviderHook;
  beforeAttempt?: BeforeAttemptHook;
  onError?: OnErrorHook;
  afterAttempt?: AfterAttemptHook;
  postResponse?: PostResponseHook;
}

/** Per-target fields a plugin adds to `GET /admin/api/providers`. */
export type TargetDescriber = (targetId: string) => Record<string, unknown> | undefined;

/** What a plugin gets at boot. */
export interface PluginApi<C = unknown> {
  name: string;
  /** This plugin's config, validated by its `config` schema. */
  config: C;
  log: Logger;
  /** Per-target live state, shared across replicas when the store is shared. */
  store: StateStore;
  /** The Prometheus registry served at GET /metrics. */
  metrics: Registry;
  /** The current routes (public model → targets). */
  routes(): ReadonlyMap<string, Route>;
  /** The SQLite store, when the gateway runs with a data dir (null in memory-only tests). */
  db: import('../core/store/db.js').Db | null;
  /** Add fields to each target in the admin providers view. */
  describeTargets(fn: TargetDescriber): void;
  /** Called on shutdown after in-flight requests finish (flush batches here). */
  onClose(fn: () => void | Promise<void>): void;
}

/** Admin/HTTP routes a plugin serves; mounted under /admin/api behind admin auth. */
export type PluginRoutes<C = unknown> = (app: FastifyInstance, api: PluginApi<C>) => void | Promise<void>;

export interface PluginDefinition<C = unknown> {
  name: string;
  /** semver of the plugin. */
  version: string;
  /** Plugin names this one needs loaded first, optionally `name@range` (semver). */
  dependencies?: string[];
  /** A throwing hook fails the request instead of being skipped. */
  critical?: boolean;
  /** zod schema for this plugin's config (the `config:` of its `plugins:` entry). */
  config?: ZodType<C>;
  /** The hooks, or a function building them from the API at boot (to keep state in a closure). */
  hooks?: PluginHooks | ((api: PluginApi<C>) => PluginHooks | Promise<PluginHooks>);
  routes?: PluginRoutes<C>;
}

/** Identity, for types: `export default definePlugin({...})`. */
export function definePlugin<C = unknown>(p: PluginDefinition<C>): PluginDefinition<C> {
  return p;
}

export { BatchWriter } from '../core/store/batch.js';
/** Visit each piece of prompt text in a request body (any entry protocol). */
export { eachPromptText } from '../core/pipeline/summary.js';
export type { Db } from '../core/store/db.js';
