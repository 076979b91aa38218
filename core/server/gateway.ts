import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log.js';
import { Hooks, PHASES } from '../pipeline/hooks.js';
import type { PipelineState } from '../pipeline/handle.js';
import { createPool } from '../providers/pool.js';
import { adapterFor } from '../providers/registry.js';
import { buildRoutes, type Provider } from '../routing/table.js';
import { GatewayError, renderError } from '../errors.js';
import { installErrorHandlers, protocolOf } from './errors.js';
import { requestIdOf } from './request-id.js';
import { registerDataRoutes } from './data-routes.js';
import type { Registry } from 'prom-client';
import { createRegistry } from '../metrics.js';
import { MemoryStateStore, type StateStore } from '../state/store.js';
import { Db } from '../store/db.js';
import { loadPlugins, PluginLoadError } from '../plugins/loader.js';
import type { PluginApi, PluginDefinition, PluginHooks, TargetDescriber } from '../../sdk/plugin.js';
import { registerAdminApi } from '../admin/routes.js';
import { registerAdminUi } from '../admin/serve-ui.js';
import { adminGuard } from '../access/admin-auth.js';
import { GatewaySecurity } from '../access/gateway-security.js';
import { attachRevisions, resolveActiveConfig } from './revisioned.js';
import type { Lookup } from '../network/connect.js';

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** Data dir for the SQLite store; ':memory:' for a throwaway one; null for none. */
  dataDir?: string | null;
  /** Where relative plugin paths and package names resolve from (the config file's folder). */
  baseDir?: string;
  /** Plugins given as objects, loaded after the config's `plugins:` list. */
  plugins?: PluginDefinition<unknown>[];
  /** Shared per-target state (default: in memory). */
  store?: StateStore;
  /** The config file the gateway was started with: revisioned on the data dir (see core/server/revisioned.ts). */
  configFile?: string;
  /** Development mode: changed policy/config files are published, not only staged. */
  dev?: boolean;
  /** Watch the policy and config files (default: true when started from a file with a data dir). */
  watch?: boolean;
  /** `start --insecure`: allow a non-loopback host with no client keys configured. */
  insecure?: boolean;
  /** DNS resolver for upstream connects, checked by the SSRF guard (tests inject one). */
  lookup?: Lookup;
  /** Called with each hook container before the gateway serves (plugins register here). */
  setup?: (hooks: Hooks, gateway: Gateway) => void | Promise<void>;
}

function buildProviders(config: Config, security: GatewaySecurity): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const cfg of config.providers) {
    const adapter = adapterFor(cfg);
    const url = new URL(cfg.base_url);
    providers.set(cfg.id, {
      id: cfg.id,
      kind: cfg.kind,
      config: cfg,
      adapter,
      pool: createPool(cfg, security.connect(cfg)),
      basePath: url.pathname.replace(/\/+$/, ''),
      headers: adapter.headers(cfg),
    });
  }
  return providers;
}

/**
 * A running gateway: the fastify server, the providers' pools, and the pipeline state the
 * request handler reads. Built once; `close()` drains.
 */
export class Gateway {
  readonly app: FastifyInstance;
  readonly log: Logger;
  config: Config;
  providers: Map<string, Provider>;
  readonly hooks: Hooks;
  /** Client keys, rate limits, budgets, admin auth, SSRF guard, input limits (core/access). */
  readonly security: GatewaySecurity;
  state: PipelineState;
  private closing = false;
  private inflight = 0;
  private idle: (() => void) | null = null;
  /** Flushes registered by plugins and stores: run after in-flight requests finish. */
  readonly onDrain: (() => Promise<void> | void)[] = [];
  hookErrors = 0;
  readonly metrics: Registry = createRegistry();
  store: StateStore = new MemoryStateStore();
  db: Db | null = null;
  readonly describers: TargetDescriber[] = [];
  readonly adminMounts: ((app: FastifyInstance) => void | Promise<void>)[] = [];
  /** The policy runtime and revision store (with a data dir). */
  policy: import('../../policies/runtime.js').PolicyRuntime | null = null;
  revisions: import('../../policies/revisions/store.js').RevisionStore | null = null;
  capture: import('../../policies/capture/recorder.js').CaptureRecorder | null = null;
  /** Loaded plugins, in hook order. */
  plugins: { name: string; version: string }[] = [];

  private constructor(opts: GatewayOptions) {
    this.config = opts.config;
    this.log = opts.logger ?? createLogger(opts.config.logging.level);
    this.security = new GatewaySecurity(opts.config, { log: this.log, insecure: opts.insecure, lookup: opts.lookup });
    this.providers = buildProviders(opts.config, this.security);
    this.hooks = new Hooks((plugin, phase, err) => {
      this.hookErrors++;
      this.log.error({ plugin, phase, err }, 'plugin hook failed');
    });
    this.state = { routes: buildRoutes(opts.config, this.providers), hooks: this.hooks, log: this.log, access: this.security.access() };
    this.app = (Fastify as unknown as (o: object) => FastifyInstance)({
      // Request logging is the telemetry plugin's job (one line per request, redacted).
      logger: false,
      bodyLimit: Math.floor(opts.config.server.body_limit_mb * 1024 * 1024),
      return503OnClosing: false,
      forceCloseConnections: 'idle',
      keepAliveTimeout: 65_000,
      requestIdHeader: false,
      ...this.security.serverOptions(),
    });
  }

  static async create(opts: GatewayOptions): Promise<Gateway> {
    const db = opts.dataDir ? await Db.open(opts.dataDir) : null;
    try {
      // The active config revision is the truth; the file is adopted only when its content is new.
      const config = db && opts.configFile ? await resolveActiveConfig(db, opts.configFile, opts.config, opts.logger ?? createLogger(opts.config.logging.level)) : opts.config;
      const gw = new Gateway({ ...opts, config });
      gw.db = db;
      if (opts.store) gw.store = opts.store;
      await gw.installPlugins(opts);
      if (db) await attachRevisions(gw, db, opts);
      await opts.setup?.(gw.hooks, gw);
      await gw.install();
      return gw;
    } catch (err) {
      await db?.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Serve a new config without a restart: new provider pools and routes from the next
   * request on, with the new keys, admin tokens and network rules; the old pools close once
   * their in-flight calls finish. Server and plugin settings are read at boot and need a restart.
   */
  applyConfig(next: Config): void {
    // Keys, admin tokens and network rules first: the new providers' pools are guarded by them.
    const access = this.security.access(next);
    const providers = buildProviders(next, this.security);
    const routes = buildRoutes(next, providers);
    const old = this.providers;
    this.providers = providers;
    this.config = next;
    this.state = { ...this.state, routes, access };
    setTimeout(() => {
      for (const p of old.values()) void p.pool.close().catch(() => {});
    }, 1000).unref();
  }

  /** Load the `plugins:` list and register each plugin's hooks, routes and describers. */
  private async installPlugins(opts: GatewayOptions): Promise<void> {
    const loaded = await loadPlugins(this.config.plugins, opts.baseDir ?? process.cwd(), opts.plugins);
    for (const { def, rawConfig } of loaded) {
      let cfg: unknown = rawConfig;
      if (def.config) {
        const r = def.config.safeParse(rawConfig ?? {});
        if (!r.success) throw new PluginLoadError(def.name, `invalid config: ${r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
        cfg = r.data;
      }
      const api: PluginApi<unknown> = {
        name: def.name,
        config: cfg,
        log: this.log.child({ plugin: def.name }),
        store: this.store,
        metrics: this.metrics,
        routes: () => this.state.routes,
        db: this.db,
        describeTargets: (fn) => this.describers.push(fn),
        onClose: (fn) => this.onDrain.push(fn),
      };
      let hooks: PluginHooks;
      try {
        hooks = typeof def.hooks === 'function' ? await def.hooks(api) : def.hooks ?? {};
      } catch (err) {
        // The operator must learn which plugin refused to start, not only its message.
        throw new PluginLoadError(def.name, `failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const phase of PHASES) {
        const fn = hooks[phase];
        if (fn) this.hooks.add(phase, fn as never, def.name, def.critical ?? false);
      }
      if (def.routes) this.adminMounts.push((app) => def.routes!(app, api));
      this.plugins.push({ name: def.name, version: def.version });
    }
  }

  private readonly release = (): void => {
    if (--this.inflight === 0 && this.idle) this.idle();
  };

  private async install(): Promise<void> {
    const app = this.app;
    installErrorHandlers(app, this.log);
    app.addHook('onRequest', (req, reply, done) => {
      if (this.closing) {
        const ge = new GatewayError('SY_ERR_SHUTTING_DOWN', 'gateway is shutting down', { headers: { 'retry-after': '1', connection: 'close' } });
        reply.code(503).headers({ 'x-request-id': requestIdOf(req.headers), ...ge.headers, 'content-type': 'application/json' }).send(renderError(ge, protocolOf(req.url)));
        return;
      }
      this.inflight++;
      // A response always emits 'close': after 'finish', or when the client went away first.
      reply.raw.once('close', this.release);
      done();
    });
    // Body parsers + input limits, client keys on /v1/*, admin sessions (after the drain hook).
    this.security.install(app, () => this.state.access);
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      if (this.closing) return reply.code(503).send({ status: 'draining' });
      return { status: 'ready', routes: this.state.routes.size };
    });
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', this.metrics.contentType);
      return this.metrics.metrics();
    });
    registerDataRoutes(app, () => this.state);
    await registerAdminApi(app, { guard: adminGuard(), routes: () => this.state.routes, describers: this.describers, mounts: this.adminMounts });
    registerAdminUi(app);
  }

  async listen(port = this.config.server.port, host = this.config.server.host): Promise<string> {
    this.security.checkListen(host);
    await this.app.listen({ port, host });
    const addr = this.app.server.address();
    const p = typeof addr === 'object' && addr ? addr.port : port;
    const h = host.includes(':') ? `[${host}]` : host;
    return `http://${h}:${p}`;
  }

  get port(): number {
    const addr = this.app.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /**
   * Drain: stop accepting, let in-flight requests and streams finish within `graceMs`, then
   * run the drain flushes and close the upstream pools. Nothing accepted is dropped unless the
   * grace period runs out.
   */
  async close(graceMs = this.config.server.drain_grace_ms): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.app.server;
    // fastify stops listening at once and resolves when every connection has ended.
    const stopped = this.app.close().catch((err: unknown) => this.log.warn({ err }, 'server close'));
    if (this.inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((resolve) => (this.idle = resolve));
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      const r = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') this.log.warn({ inflight: this.inflight }, 'drain grace period over: closing remaining connections');
    }
    server.closeAllConnections();
    await stopped;
    for (const flush of this.onDrain) {
      try {
        await flush();
      } catch (err) {
        this.log.error({ err }, 'flush on drain failed');
      }
    }
    await Promise.all([...this.providers.values()].map((p) => p.pool.close().catch(() => {})));
    await this.security.close().catch((err: unknown) => this.log.error({ err }, 'closing the limit store failed'));
    await this.db?.close().catch((err: unknown) => this.log.error({ err }, 'closing the store failed'));
  }
}
