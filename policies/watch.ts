import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { RevisionStore, Scope } from './revisions/store.js';
import { adoptFile } from './adopt.js';

/**
 * Watch the policy and config files: a change is checked and staged, or published with
 * --dev. A broken file never replaces a working revision (adoptFile logs why).
 */
export function watchFiles(store: RevisionStore, files: { scope: Scope; file: string }[], log: Logger, dev: boolean): FSWatcher {
  const w = watch(files.map((f) => f.file), { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 } });
  const onChange = (path: string) => {
    const f = files.find((x) => x.file === path);
    if (f) void adoptFile(store, f.scope, f.file, log, dev ? 'publish' : 'stage');
  };
  w.on('change', onChange).on('add', onChange);
  return w;
}
