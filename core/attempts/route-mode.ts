import type { AttemptRecord, Plan, RouteMode } from '../pipeline/context.js';
import type { Route, Target } from '../routing/table.js';

/**
 * Name how the served answer was reached. The reference is the target the route would use
 * when all is well: its first target for `ordered` routes (so a target skipped because it is
 * cooling down still shows as a fallback), the plan's first for strategies and policies,
 * which choose on purpose.
 */
export function routeModeOf(route: Route, plan: Plan | null, attempts: AttemptRecord[], served: Target | null): RouteMode {
  const first = attempts[0];
  if (!first) return plan?.mode ?? 'direct';
  const last = served ? attempts.findLast((a) => a.target === served.id && a.errorClass === null) ?? attempts[attempts.length - 1] : attempts[attempts.length - 1];
  if (last.hedged) return 'hedged';
  const chosen = route.strategy === 'ordered' && !plan?.mode ? route.targets[0] : null;
  const referenceId = chosen?.id ?? first.target;
  const referenceModel = chosen?.model ?? first.model;
  if (last.target === referenceId) return last.n === 1 ? (plan?.mode ?? 'direct') : 'retry';
  if (last.n > 1 && attempts.some((a) => a.n < last.n && a.target === last.target)) return 'retry';
  return last.model === referenceModel ? 'fallback' : 'model_fallback';
}
