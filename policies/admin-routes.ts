import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adminIdentity } from '../core/access/admin-auth.js';
import { z } from 'zod';
import type { Gateway } from '../core/server/gateway.js';
import { RevisionError, type RevisionStore, type Scope } from './revisions/store.js';
import { diffRevisions, publishConfig, publishPolicy, rollback } from './lifecycle.js';
import { redactConfigSource } from './redact.js';
import { adminDryRun, requireCleanDryRun } from './replay/admin.js';

const publishBody = z.object({ source: z.string().min(1).max(1_000_000), file_name: z.string().max(300).optional(), note: z.string().max(2000).optional(), author: z.string().max(200).optional(), require_dry_run_clean: z.boolean().optional() });
const auditQuery = z.object({ scope: z.enum(['policy', 'config']).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() });
const rollbackBody = z.object({ revision: z.string().max(100).optional(), note: z.string().max(2000).optional(), author: z.string().max(200).optional() }).prefault({});

function fail(reply: FastifyReply, status: number, message: string, code = 'SY_ERR_INVALID_REQUEST') {
  return reply.code(status).send({ error: { message, type: status >= 500 ? 'api_error' : 'invalid_request_error', param: null, code } });
}

async function guarded<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RevisionError) return fail(reply, err.status, err.message, err.status === 404 ? 'SY_ERR_NOT_FOUND' : 'SY_ERR_INVALID_REQUEST');
    throw err;
  }
}

/** Who made a change: the body's author, else the authenticated role (and how it signed in). */
function actor(body: { author?: string }, req: FastifyRequest): string {
  const id = adminIdentity(req);
  const role = id ? `${id.role} via ${id.via}` : 'admin';
  return body.author ? `${body.author} (${role})` : role;
}

/** Policies, config and audit under /admin/api: the same lifecycle for both scopes. */
export function registerRevisionRoutes(app: FastifyInstance, deps: { store: RevisionStore; gateway: Gateway }): void {
  const { store, gateway } = deps;
  const applyNow = async (scope: Scope) => {
    // The next request sees the change: don't wait for the poll.
    if (scope === 'policy') await gateway.policy?.sync();
  };

  for (const scope of ['policy', 'config'] as const) {
    const base = scope === 'policy' ? '/policies' : '/config';
    app.get(base, async () => {
      const revisions = await store.list(scope);
      return { active: revisions.find((r) => r.active)?.id ?? null, revisions };
    });
    app.get(`${base}/revisions/:id`, async (req, reply) =>
      guarded(reply, async () => {
        const rev = await store.get(scope, (req.params as { id: string }).id);
        if (!rev) throw new RevisionError(`no ${scope} revision ${(req.params as { id: string }).id}`, 404);
        const active = (await store.activeId(scope)) === rev.id;
        return scope === 'config' ? { ...rev, source: redactConfigSource(rev.source), active } : { ...rev, active };
      }),
    );
    app.get(`${base}/diff`, async (req, reply) =>
      guarded(reply, async () => {
        const q = req.query as { a?: string; b?: string };
        if (!q.a || !q.b) throw new RevisionError('diff needs ?a=REV&b=REV');
        return { diff: await diffRevisions(store, scope, q.a, q.b, scope === 'config' ? redactConfigSource : undefined) };
      }),
    );
    app.post(`${base}/publish`, async (req, reply) =>
      guarded(reply, async () => {
        const b = publishBody.safeParse(req.body);
        if (!b.success) throw new RevisionError(`publish needs { source, note? }: ${b.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const who = { actor: actor(b.data, req), note: b.data.note ?? null };
        // Policies only: refuse one that errors or times out on the last 24h of captures.
        if (scope === 'policy' && b.data.require_dry_run_clean) await requireCleanDryRun(store, gateway, b.data.source, b.data.file_name ?? 'policy.ts');
        const r = scope === 'policy' ? await publishPolicy(store, b.data.source, b.data.file_name ?? 'policy.ts', who) : await publishConfig(store, b.data.source, b.data.file_name ?? 'switchyard.yaml', who);
        await applyNow(scope);
        return r;
      }),
    );
    app.post(`${base}/rollback`, async (req, reply) =>
      guarded(reply, async () => {
        const b = rollbackBody.safeParse(req.body ?? {});
        if (!b.success) throw new RevisionError('rollback takes { revision?, note? }');
        const r = await rollback(store, scope, b.data.revision, { actor: actor(b.data, req), note: b.data.note ?? null });
        await applyNow(scope);
        return r;
      }),
    );
  }

  // Replays captures through a candidate and a baseline; no provider calls (policies/replay).
  app.post('/policies/dry-run', async (req, reply) => guarded(reply, () => adminDryRun(store, gateway, req.body)));

  app.get('/audit', async (req, reply) => {
    // A bad value is a 400: a negative limit reached SQLite as "no limit", a typo'd scope meant "all".
    const q = auditQuery.safeParse(req.query);
    if (!q.success) return fail(reply, 400, `audit takes ?scope=policy|config&limit=1..1000: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return { data: await store.audit(q.data.scope, q.data.limit ?? 200) };
  });
}
