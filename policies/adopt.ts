import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { RevisionStore, type Scope } from './revisions/store.js';
import { checkConfig, publishPolicy, publishConfig, stagePolicy } from './lifecycle.js';

/**
 * A policy or config file is a convenience; the active pointer is the truth. A file whose
 * content is new is checked and published (or only staged); content matching an existing
 * revision changes nothing, so a rollback survives a restart until the file itself changes.
 * A file that fails its check never replaces a working revision: the reason is logged.
 */
export async function adoptFile(store: RevisionStore, scope: Scope, file: string, log: Logger, mode: 'publish' | 'stage' = 'publish'): Promise<'published' | 'staged' | 'unchanged' | 'rejected'> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    log.error({ file, err: (err as Error).message }, `${scope} file cannot be read`);
    return 'rejected';
  }
  const id = createHash('sha256').update(source).digest('hex');
  if (await store.get(scope, id)) return 'unchanged';
  const who = { actor: 'file', note: `${file} changed` };
  try {
    if (scope === 'policy') {
      if (mode === 'stage') await stagePolicy(store, source, file, who);
      else await publishPolicy(store, source, file, who);
    } else {
      if (mode === 'stage') {
        // Checked like a publish: a broken file must not become a revision one could roll back to.
        checkConfig(source, file);
        await store.put({ id, scope, name: file, source, compiled: null, author: who.actor, note: who.note });
      }
      else await publishConfig(store, source, file, who);
    }
  } catch (err) {
    log.error({ file, problem: (err as Error).message }, `${scope} file rejected; the active revision stays`);
    return 'rejected';
  }
  log.info({ file, revision: id.slice(0, 12) }, mode === 'publish' ? `${scope} file published` : `${scope} file staged (publish it with: switchyard ${scope} publish)`);
  return mode === 'publish' ? 'published' : 'staged';
}
