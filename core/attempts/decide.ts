import type { ErrorAction } from '../../sdk/types.js';
import type { Route } from '../routing/table.js';
import type { Failure } from './failure.js';

/**
 * The default next step for a failure, from the error taxonomy (DESIGN.md). Request-level
 * problems never burn fallback attempts; account- and capacity-level problems do.
 * `remaining` is the number of untried targets, `retriesLeft` the request's retry budget.
 */
export function defaultAction(f: Failure, route: Route, remaining: number, retriesLeft: number): ErrorAction {
  switch (f.class) {
    case 'request_invalid':
      return 'fail';
    case 'content_filter':
      return route.onContentFilter === 'fallback' ? 'fallback' : 'fail';
    case 'server_error':
      return retriesLeft > 0 ? 'retry' : 'fallback';
    case 'rate_limited':
    case 'overloaded':
    case 'connect_error':
      // Another target is the better bet; with none left, one short wait on the same one.
      if (remaining > 0 || retriesLeft === 0) return 'fallback';
      return f.retryAfterMs == null || f.retryAfterMs <= route.maxRetryWaitMs ? 'retry' : 'fallback';
    default:
      // timeout, quota, account_auth, context_length, policy_error
      return 'fallback';
  }
}
