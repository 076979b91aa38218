import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import type { Db } from '../store/db.js';
import { RevisionStore } from '../../policies/revisions/store.js';
import { PolicyRuntime } from '../../policies/runtime.js';
import { adoptFile } from '../../policies/adopt.js';
import { watchFiles } from '../../policies/watch.js';
import { registerRevisionRoutes } from '../../policies/admin-routes.js';
import { CaptureRecorder } from '../../policies/capture/recorder.js';
import type { Gateway, GatewayOptions } from './gateway.js';

/** At start: adopt the config file if its content is new, then run whatever revision is active. */
export async function resolveActiveConfig(db: Db, file: string, fromFile: Config, log: Logger): Promise<Config> {
  const store = new RevisionStore(db);
  await adoptFile(store, 'config', file, log);
  const active = await store.active('config');
  const fileHash = createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex');
  if (!active || active.id === fileHash) return fromFile;
  log.warn({ revision: active.id.slice(0, 12), file }, 'config: serving the active revision, which differs from the file (a rollback or a publish); edit the file to publish it');
  return parseConfig(active.source, active.name ?? file).config;
}

/**
 * Wire the revisioned pieces into a gateway with a data dir: the policy runtime (its hooks
 * run after every plugin's), the config pointer (polled, applied live), the file watchers,
 * and the admin routes for policies, config and audit.
 */
export async function attachRevisions(gw: Gateway, db: Db, opts: GatewayOptions): Promise<void> {
  const store = new RevisionStore(db);
  const log = gw.log;
  const policy = new PolicyRuntime(store, log.child({ sub: 'policy' }), gw.metrics);
  const baseDir = opts.baseDir ?? process.cwd();
  const policyFile = gw.config.policy ? resolve(baseDir, gw.config.policy) : null;
  if (policyFile) await adoptFile(store, 'policy', policyFile, log);
  await policy.sync();
  policy.start();
  if (gw.config.capture.enabled) {
    const capture = new CaptureRecorder(db, gw.config.capture, log.child({ sub: 'capture' }));
    gw.capture = capture;
    gw.hooks.add('selectProvider', capture.snapshot, 'capture');
    gw.hooks.add('postResponse', capture.record, 'capture');
    gw.onDrain.push(() => capture.close());
  }
  gw.hooks.add('selectProvider', policy.selectProvider, 'policy');
  gw.hooks.add('onError', policy.onError, 'policy');
  gw.policy = policy;
  gw.revisions = store;

  let configId = opts.configFile ? await store.activeId('config') : null;
  const pollConfig = async () => {
    try {
      const id = await store.activeId('config');
      if (!id || id === configId) return;
      const rev = await store.get('config', id);
      if (!rev) return;
      const next = parseConfig(rev.source, rev.name ?? 'config');
      configId = id;
      gw.applyConfig(next.config);
      log.info({ revision: id.slice(0, 12) }, 'config: serving revision');
    } catch (err) {
      configId = (await store.activeId('config').catch(() => configId)) ?? configId;
      log.error({ problem: (err as Error).message }, 'config: the active revision cannot be applied; keeping the running config');
    }
  };
  const timer = setInterval(() => void pollConfig(), 1000);
  timer.unref();

  const watched = [...(policyFile ? [{ scope: 'policy' as const, file: policyFile }] : []), ...(opts.configFile ? [{ scope: 'config' as const, file: resolve(opts.configFile) }] : [])];
  const watcher = (opts.watch ?? !!opts.configFile) && watched.length ? watchFiles(store, watched, log, !!opts.dev) : null;

  gw.onDrain.push(async () => {
    clearInterval(timer);
    policy.stop();
    await watcher?.close();
  });
  gw.adminMounts.push((app) => registerRevisionRoutes(app, { store, gateway: gw }));
}
