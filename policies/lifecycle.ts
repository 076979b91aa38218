import { createTwoFilesPatch } from 'diff';
import { compilePolicy, formatDiagnostic } from './compile/compile.js';
import { parseConfig } from '../core/config/load.js';
import { PolicyLoadError, PolicySandbox } from './sandbox/sandbox.js';
import { RevisionError, type RevisionStore, type Scope } from './revisions/store.js';

export interface Actor {
  actor: string;
  note?: string | null;
}

export interface PublishResult {
  id: string;
  name: string | null;
  /** False when that exact content was already active. */
  changed: boolean;
  from: string | null;
}

/**
 * Compile-check a policy, then load it once in a sandbox; throws a RevisionError listing
 * `file:line:col message` diagnostics, or why it does not load.
 */
export async function checkPolicy(source: string, fileName: string) {
  const r = await compilePolicy(source, fileName);
  if (!r.ok) throw new RevisionError(`policy ${fileName} does not compile:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`, 422);
  await checkLoads(r.js, fileName);
  return r;
}

/**
 * Top-level code that throws, loops past the init deadline or runs out of memory type-checks
 * fine, but the runtime could never serve it: refuse it here, before the pointer moves to it.
 */
async function checkLoads(js: string, fileName: string): Promise<void> {
  try {
    (await PolicySandbox.load(js)).dispose();
  } catch (err) {
    if (!(err instanceof PolicyLoadError)) throw err;
    throw new RevisionError(`policy ${fileName} compiles but cannot be loaded:\n${fileName}: ${err.kind}: ${err.message}`, 422);
  }
}

/** Store the policy as a revision without activating it (a watched file's change, staged). */
export async function stagePolicy(store: RevisionStore, source: string, fileName: string, who: Actor) {
  const r = await checkPolicy(source, fileName);
  await store.put({ id: r.hash, scope: 'policy', name: r.name, source, compiled: r.js, author: who.actor, note: who.note ?? null });
  return r;
}

export async function publishPolicy(store: RevisionStore, source: string, fileName: string, who: Actor): Promise<PublishResult> {
  const r = await stagePolicy(store, source, fileName, who);
  return activate(store, 'policy', r.hash, r.name, who);
}

/** Validate a whole config (with ${ENV} expansion) before it can become a revision. */
export function checkConfig(source: string, fileName: string) {
  try {
    return parseConfig(source, fileName);
  } catch (err) {
    throw new RevisionError((err as Error).message, 422);
  }
}

export async function publishConfig(store: RevisionStore, source: string, fileName: string, who: Actor): Promise<PublishResult> {
  const loaded = checkConfig(source, fileName);
  await store.put({ id: loaded.hash, scope: 'config', name: fileName, source, compiled: null, author: who.actor, note: who.note ?? null });
  return activate(store, 'config', loaded.hash, fileName, who);
}

async function activate(store: RevisionStore, scope: Scope, id: string, name: string | null, who: Actor): Promise<PublishResult> {
  const current = await store.activeId(scope);
  if (current === id) return { id, name, changed: false, from: current };
  const from = await store.activate(scope, id, { actor: who.actor, action: 'publish', note: who.note });
  return { id, name, changed: true, from };
}

/**
 * Move the pointer back: to `ref`, or to the revision active before the current one. For
 * policies, rolling back past the first publish means "no policy" (the route's static order).
 */
export async function rollback(store: RevisionStore, scope: Scope, ref: string | undefined, who: Actor): Promise<PublishResult> {
  const current = await store.activeId(scope);
  let to: string | null;
  if (ref) {
    const rev = await store.get(scope, ref);
    if (!rev) throw new RevisionError(`no ${scope} revision ${ref}`, 404);
    to = rev.id;
  } else {
    if (!current) throw new RevisionError(`no active ${scope} revision to roll back from`, 409);
    to = await store.previous(scope);
    if (to === null && scope === 'config') throw new RevisionError('no earlier config revision to roll back to', 409);
  }
  if (to === current) return { id: to ?? '', name: null, changed: false, from: current };
  const rev = to ? await store.get(scope, to) : null;
  // A config revision is re-checked (it may be a staged file, or name a variable unset since):
  // a pointer on a config the gateway cannot apply would say one config while serving another.
  if (scope === 'config' && rev) {
    try {
      checkConfig(rev.source, rev.name ?? 'config');
    } catch (err) {
      throw new RevisionError(`cannot roll back to config ${rev.id.slice(0, 12)}: ${(err as Error).message}`, 422);
    }
  }
  const from = await store.activate(scope, to, { actor: who.actor, action: 'rollback', note: who.note });
  return { id: to ?? '', name: rev?.name ?? null, changed: true, from };
}

/**
 * A unified diff between two revisions' sources, each first passed through `view` (the admin
 * API redacts config secrets: on the sources, since a diff's +/- lines no longer parse as YAML).
 */
export async function diffRevisions(store: RevisionStore, scope: Scope, a: string, b: string, view: (source: string) => string = (s) => s): Promise<string> {
  const [ra, rb] = await Promise.all([store.get(scope, a), store.get(scope, b)]);
  if (!ra) throw new RevisionError(`no ${scope} revision ${a}`, 404);
  if (!rb) throw new RevisionError(`no ${scope} revision ${b}`, 404);
  return createTwoFilesPatch(`${ra.id.slice(0, 12)}`, `${rb.id.slice(0, 12)}`, view(ra.source), view(rb.source), ra.note ?? '', rb.note ?? '');
}
