import { Counter, Histogram, type Registry } from 'prom-client';
import type { Outcome, RequestContext } from '../../sdk/plugin.js';

/** The request metrics. Labels are route names, provider ids, modes and classes: never secrets. */
export function requestMetrics(registry: Registry) {
  const registers = [registry];
  const requests = new Counter({ name: 'switchyard_requests_total', help: 'Requests by route, route mode, serving provider and status class', labelNames: ['route', 'mode', 'provider', 'status'], registers });
  const failovers = new Counter({ name: 'switchyard_failovers_total', help: 'Failed upstream attempts that led to a retry or fallback, by failure class and provider', labelNames: ['route', 'reason', 'provider'], registers });
  const attempts = new Counter({ name: 'switchyard_attempts_total', help: 'Upstream attempts by provider and result', labelNames: ['provider', 'result'], registers });
  const latency = new Histogram({ name: 'switchyard_request_duration_seconds', help: 'Whole request latency', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers });
  const ttft = new Histogram({ name: 'switchyard_ttft_seconds', help: 'Time to first token (first content frame, or the response for non-streams)', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
  const tokens = new Counter({ name: 'switchyard_tokens_total', help: 'Tokens by route, provider and kind (input|output)', labelNames: ['route', 'provider', 'kind'], registers });
  const cost = new Counter({ name: 'switchyard_cost_usd_total', help: 'Spend in USD from reported usage and target prices', labelNames: ['route', 'provider'], registers });

  return (ctx: RequestContext, o: Outcome) => {
    const route = ctx.route.model;
    const provider = o.served?.provider.id ?? o.attempts[o.attempts.length - 1]?.provider ?? 'none';
    requests.inc({ route, mode: o.routeMode, provider, status: o.clientAborted ? 'aborted' : `${Math.floor(o.status / 100)}xx` });
    for (const a of o.attempts) {
      attempts.inc({ provider: a.provider, result: a.errorClass ?? 'ok' });
      if (a.errorClass && a !== o.attempts[o.attempts.length - 1]) failovers.inc({ route, reason: a.errorClass, provider: a.provider });
    }
    latency.observe({ route }, o.latencyMs / 1000);
    if (o.ttftMs != null) ttft.observe({ route }, o.ttftMs / 1000);
    if (o.usage && o.served) {
      tokens.inc({ route, provider: o.served.provider.id, kind: 'input' }, o.usage.inputTokens);
      tokens.inc({ route, provider: o.served.provider.id, kind: 'output' }, o.usage.outputTokens);
    }
    if (o.costUsd && o.served) cost.inc({ route, provider: o.served.provider.id }, o.costUsd);
  };
}
