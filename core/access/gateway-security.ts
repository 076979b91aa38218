import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { buildConnector } from 'undici';
import { guardedConnect, type Lookup } from '../network/connect.js';
import { clientErrorHandler, httpServerOptions, installInputLimits, type LimitSettings } from '../server/limits.js';
import { Access, type AccessConfig } from './access.js';
import { installAdminAuth, type AdminAuth, type AdminTokens } from './admin-auth.js';
import { BindRefusedError, checkBind } from './bind.js';
import { installClientAuth } from './client-auth.js';
import type { CounterStore } from './counters.js';
import { configSecrets, registerSecrets } from './secrets.js';
import { createCounterStore, type LimitStoreConfig } from './store.js';

/** The slice of the config the security layer reads. */
export interface SecurityConfig extends AccessConfig {
  server: LimitSettings;
  providers: { id: string; api_key?: string; headers?: Record<string, string>; connect_timeout_ms: number }[];
  admin: AdminTokens;
  network: { deny_private: boolean };
  limits?: LimitStoreConfig;
}

export interface SecurityOptions {
  log: Logger;
  /** `switchyard start --insecure`: allow a non-loopback host without client keys. */
  insecure?: boolean;
  /** DNS resolver for upstream connects (tests inject one; default dns.lookup). */
  lookup?: Lookup;
  /** Counter store to use instead of the one `limits:` describes (tests, embedding). */
  counters?: CounterStore;
}

/**
 * Everything the gateway needs from the access and safety layer, in one place so the
 * server wiring stays a handful of lines: secret registration (redaction), the SSRF-guarded
 * upstream connector, HTTP server limits, the body parsers and shape checks, client-key
 * authentication, admin authentication (session endpoints + the guard), the bind check,
 * and the shared counter store behind rate limits and budgets.
 */
export class GatewaySecurity {
  readonly counters: CounterStore;
  adminAuth: AdminAuth | null = null;

  constructor(private config: SecurityConfig, private readonly opts: SecurityOptions) {
    registerSecrets(configSecrets(config));
    this.counters = opts.counters ?? createCounterStore(config.limits);
  }

  /** The SSRF-guarded undici `connect` for a provider's pool. */
  connect(provider: SecurityConfig['providers'][number]): buildConnector.connector {
    // Providers of a config published at run time: their secrets are redacted from then on.
    registerSecrets([provider.api_key, ...Object.values(provider.headers ?? {})]);
    return guardedConnect({ policy: this.config.network, timeout: provider.connect_timeout_ms, lookup: this.opts.lookup, log: this.opts.log, provider: provider.id });
  }

  /** Access control for a config (part of the pipeline state; rebuilt on config publish). */
  access(config: SecurityConfig = this.config): Access {
    if (config !== this.config) {
      registerSecrets(configSecrets(config));
      this.adminAuth?.update(config.admin);
      this.config = config;
    }
    return new Access(config, this.counters, this.opts.log);
  }

  /** Fastify factory options: header size limit and the JSON client-error answers. */
  serverOptions(): { http: { maxHeaderSize: number }; clientErrorHandler: typeof clientErrorHandler } {
    return { http: httpServerOptions(this.config.server), clientErrorHandler };
  }

  /** Body parsers, shape checks, client-key auth (/v1/*), admin session endpoints. */
  install(app: FastifyInstance, access: () => Access | undefined): void {
    installInputLimits(app, this.config.server);
    installClientAuth(app, access);
    this.adminAuth = installAdminAuth(app, this.config.admin);
  }

  /** Refuse (throw) or warn about the listen host; see bind.ts. */
  checkListen(host: string): void {
    const v = checkBind(host, this.config.keys.length > 0, this.opts.insecure === true);
    if (!v.ok) throw new BindRefusedError(v.error);
    if (v.warning) this.opts.log.warn({ host }, v.warning);
  }

  async close(): Promise<void> {
    await this.counters.close();
  }
}
