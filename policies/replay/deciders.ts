/**
 * Resolving what the operator named into a Decider: a policy source (compiled here), a revision
 * id or prefix, `active` (the active revision, or the static route order when none is
 * published) or, for a baseline, `recorded`.
 */
import { checkPolicy } from '../lifecycle.js';
import type { RevisionStore } from '../revisions/store.js';
import { type Decider, DryRunError, RECORDED, STATIC } from './types.js';

export type DeciderRef = { source: string; fileName?: string } | { revision: string } | 'active' | 'recorded';

/** Where revisions are looked up: the data dir's store, or a gateway's admin API. */
export interface RevisionLookup {
  get(ref: string): Promise<{ id: string; name: string | null; compiled: string | null } | null>;
  activeId(): Promise<string | null>;
}

export function storeLookup(store: RevisionStore): RevisionLookup {
  return { get: (ref) => store.get('policy', ref), activeId: () => store.activeId('policy') };
}

const short = (id: string) => id.slice(0, 12);

export async function resolveDecider(ref: DeciderRef, lookup: RevisionLookup | null, role: 'candidate' | 'baseline'): Promise<Decider> {
  if (ref === 'recorded') {
    if (role === 'candidate') throw new DryRunError('"recorded" can only be the baseline (--against)');
    return RECORDED;
  }
  if (typeof ref === 'object' && 'source' in ref) {
    const fileName = ref.fileName ?? 'policy.ts';
    const r = await checkPolicy(ref.source, fileName);
    return { kind: 'policy', js: r.js, label: fileName, revision: r.hash };
  }
  if (!lookup) throw new DryRunError(`resolving ${ref === 'active' ? 'the active policy' : `revision ${ref.revision}`} needs a data dir or a gateway (--data-dir or --url)`);
  if (ref === 'active') {
    const id = await lookup.activeId();
    if (!id) return { ...STATIC, label: 'active: no policy published (static route order)' };
    return fromRevision(await lookup.get(id), id, `active ${short(id)}`);
  }
  const rev = await lookup.get(ref.revision);
  if (!rev) throw new DryRunError(`no policy revision ${ref.revision}`, 404);
  return fromRevision(rev, ref.revision, `revision ${short(rev.id)}`);
}

function fromRevision(rev: { id: string; name: string | null; compiled: string | null } | null, ref: string, label: string): Decider {
  if (!rev) throw new DryRunError(`no policy revision ${ref}`, 404);
  if (!rev.compiled) throw new DryRunError(`policy revision ${short(rev.id)} has no compiled code`, 422);
  return { kind: 'policy', js: rev.compiled, label: rev.name ? `${label} (${rev.name})` : label, revision: rev.id };
}

/** The CLI/admin spelling of a baseline: recorded | active | REV. */
export function baselineRef(against: string | undefined): DeciderRef {
  if (!against || against === 'recorded') return 'recorded';
  if (against === 'active') return 'active';
  return { revision: against };
}
