/**
 * The dry-run inside a running gateway: `POST /admin/api/policies/dry-run` and the publish
 * guard (`require_dry_run_clean`). Pending captures are flushed first, so every request that
 * completed before the call is replayed. Dry-runs in one process run one at a time; large ones
 * go to worker threads, so serving is not held up.
 */
import { z } from 'zod';
import { parseDuration } from '../capture/store.js';
import type { RevisionStore } from '../revisions/store.js';
import { baselineRef, resolveDecider, storeLookup, type DeciderRef } from './deciders.js';
import { dryRun } from './dry-run.js';
import { countCaptures, dbSource } from './source.js';
import { DryRunError, type DryRunReport } from './types.js';

/** What of the gateway a dry-run needs: its capture recorder, to flush. */
export interface CaptureOwner {
  capture: { writer: { flush(): Promise<void> } } | null;
}

export const dryRunBody = z.object({
  candidate: z.union([
    z.literal('active'),
    z.object({ source: z.string().min(1).max(1_000_000), file_name: z.string().max(300).optional() }),
    z.object({ revision: z.string().min(1).max(100) }),
  ]),
  against: z.string().min(1).max(100).optional(),
  since: z.string().max(32).optional(),
  down: z.array(z.string().min(1).max(200)).max(100).optional(),
});

/** The window `require_dry_run_clean` replays. */
export const GUARD_WINDOW_MS = 24 * 3_600_000;

let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const p = queue.then(fn, fn);
  queue = p.catch(() => {});
  return p;
}

/** Every request answered before now has its capture on disk afterwards. */
async function flushCaptures(gw: CaptureOwner): Promise<void> {
  // postResponse (which queues the capture) runs in a setImmediate after the response is sent.
  await new Promise<void>((r) => setImmediate(r));
  await gw.capture?.writer.flush();
}

export async function adminDryRun(store: RevisionStore, gw: CaptureOwner, body: unknown): Promise<DryRunReport> {
  const b = dryRunBody.safeParse(body);
  if (!b.success) throw new DryRunError(`dry-run takes { candidate: { source } | { revision } | 'active', against?: 'recorded'|'active'|REV, since?: '2h', down?: [provider] }: ${b.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  let since = 0;
  if (b.data.since) {
    try {
      since = Date.now() - parseDuration(b.data.since);
    } catch (err) {
      throw new DryRunError((err as Error).message);
    }
  }
  const c = b.data.candidate;
  const cand: DeciderRef = c === 'active' ? 'active' : 'source' in c ? { source: c.source, fileName: c.file_name ?? 'policy.ts' } : { revision: c.revision };
  const lookup = storeLookup(store);
  const candidate = await resolveDecider(cand, lookup, 'candidate');
  const baseline = await resolveDecider(baselineRef(b.data.against), lookup, 'baseline');
  return serialized(async () => {
    await flushCaptures(gw);
    return dryRun({ captures: await dbSource(store.db, since), candidate, baseline, down: b.data.down ?? [] });
  });
}

/**
 * The publish guard: dry-run `source` on the last 24h of captures; throws (409) when it errors
 * or times out on any of them. Nothing captured means nothing to object to.
 */
export async function requireCleanDryRun(store: RevisionStore, gw: CaptureOwner, source: string, fileName: string): Promise<DryRunReport | null> {
  const candidate = await resolveDecider({ source, fileName }, null, 'candidate');
  return serialized(async () => {
    await flushCaptures(gw);
    const since = Date.now() - GUARD_WINDOW_MS;
    if ((await countCaptures(store.db, since)) === 0) return null;
    const r = await dryRun({ captures: await dbSource(store.db, since), candidate });
    if (r.errors || r.timeouts) {
      throw new DryRunError(`refusing to publish (require_dry_run_clean): ${fileName} errors on ${r.errors} and times out on ${r.timeouts} of ${r.total} captures from the last 24h`, 409);
    }
    return r;
  });
}
