import { z } from 'zod';
import { definePlugin, GatewayError, type PluginApi, type RequestContext } from '../../sdk/plugin.js';
import type { Candidate } from '../../sdk/types.js';
import { estimateCostUsd, refineInputTokensLazily, usageCostUsd, warmTokenizer } from './estimate.js';
import { cheapest, lowestLatency, weighted } from './strategies.js';

const config = z.strictObject({
  /** Output allowance for cost estimates when neither the request nor the target sets one. */
  default_output_tokens: z.number().int().positive().default(1024),
  /** Refine the input-token estimate with a real tokenizer (o200k). */
  tokenizer: z.boolean().default(true),
}).prefault({});
type CostConfig = z.infer<typeof config>;

const BUDGET_HEADER = 'x-switchyard-budget-usd';

/**
 * Cost-aware routing: input-token estimates, the route strategies (cheapest, weighted,
 * lowest-latency; ordered leaves the plan alone), the per-request budget header, and the
 * real cost of each request from its usage (outcome.costUsd).
 */
export default definePlugin<CostConfig>({
  name: 'cost',
  version: '1.0.0',
  dependencies: ['health@^1'],
  config,
  hooks(api: PluginApi<CostConfig>) {
    if (api.config.tokenizer) warmTokenizer();
    const outputAllowance = (ctx: RequestContext, c: Candidate) =>
      ctx.summary.maxOutputTokens ?? ctx.route.targetsById.get(c.id)?.maxOutputTokens ?? api.config.default_output_tokens;
    const estimate = (ctx: RequestContext, c: Candidate) => estimateCostUsd(ctx.summary.estimatedInputTokens, outputAllowance(ctx, c), c.price);

    return {
      preRoute(ctx) {
        if (api.config.tokenizer) refineInputTokensLazily(ctx.summary, ctx.body);
      },
      selectProvider(ctx, plan) {
        let candidates = plan.candidates;
        const raw = ctx.headers[BUDGET_HEADER];
        if (typeof raw === 'string') {
          const budget = Number(raw);
          if (!Number.isFinite(budget) || budget < 0) throw new GatewayError('SY_ERR_INVALID_REQUEST', `${BUDGET_HEADER} must be a non-negative number of USD`);
          const fits = candidates.filter((c) => estimate(ctx, c) <= budget);
          if (!fits.length) {
            const min = Math.min(...candidates.map((c) => estimate(ctx, c)));
            throw new GatewayError('SY_ERR_BUDGET_EXCEEDED', `no target fits the request budget of $${budget} (${BUDGET_HEADER}); the cheapest estimate is $${min.toFixed(6)}`, { status: 402 });
          }
          candidates = fits;
        }
        switch (ctx.route.strategy) {
          case 'cheapest': candidates = cheapest(candidates, (c) => estimate(ctx, c)); break;
          case 'lowest-latency': candidates = lowestLatency(candidates); break;
          case 'weighted': candidates = weighted(candidates, ctx.random); break;
          default: if (candidates === plan.candidates) return;
        }
        return { ...plan, candidates, reason: ctx.route.strategy === 'ordered' ? plan.reason : ctx.route.strategy };
      },
      postResponse(_ctx, outcome) {
        if (outcome.served && outcome.usage) outcome.costUsd = usageCostUsd(outcome.usage, outcome.served.price);
      },
    };
  },
});
