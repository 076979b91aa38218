// @ts-check
/**
 * tenant-router: a community plugin. Reads the tenant from request metadata
 * (`x-switchyard-metadata: {"tenant": "acme"}`) and moves that tenant's preferred providers
 * to the front of the plan. Tenants with `only: true` are restricted to their providers.
 *
 *   plugins:
 *     - health
 *     - { name: switchyard-plugin-tenant-router, config: { tenants: { acme: { providers: [local] } } } }
 *
 * A plain object is a valid plugin; `definePlugin` from `switchyard/sdk` only adds types.
 */

/** @typedef {{ tenants: Record<string, { providers: string[], only?: boolean }>, header_tag?: string }} TenantConfig */

/** @type {import('switchyard/sdk').PluginDefinition<TenantConfig>} */
const plugin = {
  name: 'tenant-router',
  version: '1.0.0',
  hooks(api) {
    const tenants = api.config?.tenants ?? {};
    const tag = api.config?.header_tag ?? 'tenant';
    let routed = 0;
    return {
      preRoute(ctx) {
        const tenant = ctx.summary.metadata[tag];
        if (tenant) ctx.responseHeaders['x-tenant'] = tenant;
      },
      selectProvider(ctx, plan) {
        const rule = tenants[ctx.summary.metadata[tag] ?? ''];
        if (!rule) return;
        const preferred = plan.candidates.filter((c) => rule.providers.includes(c.provider));
        const rest = rule.only ? [] : plan.candidates.filter((c) => !rule.providers.includes(c.provider));
        routed++;
        return { ...plan, candidates: [...preferred, ...rest], reason: `tenant ${ctx.summary.metadata[tag]}` };
      },
    };
  },
  routes(app) {
    app.get('/tenant-router/stats', async () => ({ plugin: 'tenant-router' }));
  },
};

export default plugin;
