import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Route } from '../routing/table.js';
import type { TargetDescriber } from '../../sdk/plugin.js';

export interface AdminDeps {
  guard: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  routes: () => ReadonlyMap<string, Route>;
  describers: TargetDescriber[];
  /** Plugin and subsystem routes mounted in the same guarded context. */
  mounts: ((app: FastifyInstance) => void | Promise<void>)[];
}

/** The admin API under /admin/api, every route behind the admin guard. */
export async function registerAdminApi(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', deps.guard);
      admin.get('/providers', async () => {
        const targets = [];
        for (const r of deps.routes().values()) {
          for (const t of r.targets) {
            const extra: Record<string, unknown> = {};
            for (const d of deps.describers) Object.assign(extra, d(t.id));
            targets.push({ id: t.id, route: r.model, provider: t.provider.id, kind: t.provider.kind, model: t.model, price: t.price, contextWindow: t.contextWindow, weight: t.weight, ...extra });
          }
        }
        return { targets };
      });
      for (const m of deps.mounts) await m(admin);
    },
    { prefix: '/admin/api' },
  );
}
