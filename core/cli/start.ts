import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfigFile } from '../config/load.js';
import { createLogger } from '../log.js';
import { Gateway } from '../server/gateway.js';
import { startDemoUpstream } from '../demo/upstream.js';

export interface StartOptions {
  config: string;
  port?: string;
  host?: string;
  dataDir: string;
  dev?: boolean;
  insecure?: boolean;
}

/** `switchyard start`: load config, bring up demo upstreams if configured, serve, drain on SIGTERM. */
export async function startCommand(opts: StartOptions, log: Logger = createLogger()): Promise<Gateway> {
  const loaded = await loadConfigFile(resolve(opts.config));
  const config = loaded.config;
  log.level = config.logging.level;
  if (opts.port !== undefined) config.server.port = Number(opts.port);
  if (opts.host !== undefined) config.server.host = opts.host;

  const demos: import('node:http').Server[] = [];
  for (const d of config.demo?.upstreams ?? []) {
    const up = await startDemoUpstream({ id: d.id, port: d.port, failRate: d.fail_rate, latencyMs: d.latency_ms });
    demos.push(up.server);
    log.warn({ demo: d.id, url: up.url, fail_rate: d.fail_rate }, `DEMO upstream "${d.id}" listening on ${up.url} (fake answers, quickstart only)`);
  }

  const gw = await Gateway.create({ config, logger: log, dataDir: resolve(opts.dataDir), baseDir: dirname(resolve(opts.config)), configFile: resolve(opts.config), dev: opts.dev, insecure: opts.insecure });
  const url = await gw.listen().catch(async (err: unknown) => {
    await gw.close(0); // e.g. a keyless non-loopback bind refused: release the store and pools
    throw err;
  });
  log.info({ url, routes: [...gw.state.routes.keys()], plugins: gw.plugins.map((p) => p.name), config: opts.config, dataDir: opts.dataDir }, `switchyard listening on ${url}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining: finishing in-flight requests');
    await gw.close();
    for (const s of demos) s.close();
    log.info('stopped');
    log.flush(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return gw;
}
