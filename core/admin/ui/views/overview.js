// Overview: every target's health, cooldown, errors, latency and rate; traffic over the last
// hour by route mode and by provider; the latest failovers and errors. Live: polled every 3 s.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { usePoll, useNow } from '../lib/poll.js';
import { StackedBars, Meter, modeColor, paletteFor } from '../lib/charts.js';
import { clock, ms, num, pct, relative, shortId, targetLabel } from '../lib/format.js';
import { hrefTo } from '../lib/nav.js';
import { ModeBadge, StatusBadge, AttemptChain, LiveStatus, ErrorBox } from './parts.js';

const POLL_MS = 3000;
const MODE_ORDER = ['direct', 'policy', 'retry', 'fallback', 'model_fallback', 'hedged'];
const FAILOVER = new Set(['fallback', 'model_fallback']);
const NOTABLE = new Set(['retry', 'fallback', 'model_fallback', 'hedged']);

async function load() {
  const since = Date.now() - 3600_000;
  const [providers, traffic, recent, policies] = await Promise.all([
    api('/providers'),
    api('/traffic', { query: { minutes: 60, window: 5 } }).catch((err) => ({ unavailable: err.message })),
    api('/requests', { query: { since, limit: 500 } }).catch(() => ({ data: [] })),
    api('/policies').catch(() => null),
  ]);
  return { providers: providers.targets, traffic, recent: recent.data, policy: policies ? policies.revisions.find((r) => r.active) ?? 'none' : null };
}

function priceText(p) {
  if (!p || (!p.input && !p.output)) return 'no price set';
  return `$${p.input} in / $${p.output} out per 1M tokens`;
}

function CooldownCell({ c, now }) {
  if (!c) return html`<span class="muted">—</span>`;
  if (c.coolingDown) {
    const until = c.until ? Date.parse(c.until) : null;
    return html`<span class="badge bad">cooling down</span>
      <div class="sub">until <time datetime=${c.until}>${clock(until)}</time> (${relative(until, now)})${c.reason ? html` · ${c.reason}` : null}</div>`;
  }
  if (c.state === 'half_open') return html`<span class="badge warn">half-open</span><div class="sub">next request is a trial${c.reason ? ` · was ${c.reason}` : ''}</div>`;
  return html`<span class="badge ok">in rotation</span>`;
}

function TargetsTable({ targets, traffic, now }) {
  const stats = traffic?.targets ?? {};
  const windowMin = traffic?.window_minutes ?? 5;
  const routes = [...new Set(targets.map((t) => t.route))];
  return html`
    <table class="grid-table targets">
      <caption class="sr-only">Targets by route</caption>
      <thead><tr>
        <th scope="col">Target (provider · model)</th>
        <th scope="col">Health score</th>
        <th scope="col">Cooldown</th>
        <th scope="col" class="num">Errors <span class="th-sub">${windowMin} min</span></th>
        <th scope="col" class="num">p50 <span class="th-sub">${windowMin} min</span></th>
        <th scope="col" class="num">p95 <span class="th-sub">${windowMin} min</span></th>
        <th scope="col" class="num">Req/min <span class="th-sub">${windowMin} min</span></th>
      </tr></thead>
      ${routes.map((route) => html`<tbody>
        <tr class="group"><th colspan="7" scope="rowgroup">Route <b>${route}</b></th></tr>
        ${targets.filter((t) => t.route === route).map((t, i) => {
          const s = stats[t.id];
          const cooling = t.cooldown?.coolingDown;
          return html`<tr class=${cooling ? 'row-bad' : t.cooldown?.state === 'half_open' ? 'row-warn' : ''} data-target=${t.id}>
            <th scope="row"><span class="order">${i + 1}</span> <b>${t.provider}</b> · ${t.model}<div class="sub">${t.kind} API · ${priceText(t.price)}</div></th>
            <td>${t.healthScore == null ? html`<span class="muted">—</span>` : html`<${Meter} value=${t.healthScore} label=${`health of ${targetLabel(t.id)}`} /> <span class="meter-value">${t.healthScore.toFixed(2)}</span>`}</td>
            <td><${CooldownCell} c=${t.cooldown} now=${now} /></td>
            <td class="num">${s ? html`${pct(s.failures / Math.max(1, s.attempts))}<div class="sub">${s.failures} of ${s.attempts}</div>` : html`<span class="muted">—</span>`}</td>
            <td class="num">${ms(s?.p50_ms)}</td>
            <td class="num">${ms(s?.p95_ms)}</td>
            <td class="num">${s ? s.rpm : html`<span class="muted">0</span>`}</td>
          </tr>`;
        })}
      </tbody>`)}
    </table>`;
}

function TrafficCharts({ traffic }) {
  if (!traffic) return null;
  if (traffic.unavailable) return html`<p class="muted">Traffic charts need the request log: ${traffic.unavailable}</p>`;
  const modes = new Set();
  const providers = new Set();
  for (const b of traffic.buckets) {
    Object.keys(b.modes).forEach((m) => modes.add(m));
    Object.keys(b.providers).forEach((p) => providers.add(p));
  }
  const modeKeys = [...MODE_ORDER.filter((m) => modes.has(m)), ...[...modes].filter((m) => !MODE_ORDER.includes(m)).sort()];
  const modeColors = Object.fromEntries([...modeKeys, ...MODE_ORDER].map((m) => [m, modeColor(m)]));
  const providerKeys = [...providers].sort();
  return html`<div class="two-col">
    <section class="card" aria-labelledby="chart-mode">
      <h3 id="chart-mode">Requests by route mode <span class="muted">· per minute, last 60 min</span></h3>
      <${StackedBars} label="Requests by route mode" keys=${modeKeys.length ? modeKeys : ['direct']} colors=${modeColors}
        buckets=${traffic.buckets.map((b) => ({ t: b.t, counts: b.modes }))} />
    </section>
    <section class="card" aria-labelledby="chart-provider">
      <h3 id="chart-provider">Requests by provider served <span class="muted">· per minute, last 60 min</span></h3>
      <${StackedBars} label="Requests by provider" keys=${providerKeys.length ? providerKeys : ['(none)']} colors=${paletteFor(providerKeys)}
        buckets=${traffic.buckets.map((b) => ({ t: b.t, counts: b.providers }))} />
    </section>
  </div>`;
}

function Summary({ targets, traffic, policy }) {
  const buckets = traffic?.buckets ?? [];
  const total = buckets.reduce((s, b) => s + b.total, 0);
  const errors = buckets.reduce((s, b) => s + b.errors, 0);
  const failovers = buckets.reduce((s, b) => s + Object.entries(b.modes).filter(([m]) => FAILOVER.has(m)).reduce((a, [, n]) => a + n, 0), 0);
  const last5 = buckets.slice(-5).reduce((s, b) => s + b.total, 0);
  const cooling = targets.filter((t) => t.cooldown?.coolingDown);
  return html`<ul class="stats" aria-label="Last hour at a glance">
    <li class="stat"><span class="stat-label">Requests, last hour</span><span class="stat-value">${num(total)}</span><span class="sub">${(last5 / 5).toFixed(1)} per minute over the last 5 min</span></li>
    <li class=${`stat ${failovers ? 'warn' : ''}`}><span class="stat-label">Failovers, last hour</span><span class="stat-value">${num(failovers)}</span><span class="sub">${total ? pct(failovers / total, 1) : '—'} of requests served by a later target</span></li>
    <li class=${`stat ${errors ? 'bad' : ''}`}><span class="stat-label">Errors, last hour</span><span class="stat-value">${num(errors)}</span><span class="sub">requests answered with status ≥ 400</span></li>
    <li class=${`stat ${cooling.length ? 'bad' : ''}`}><span class="stat-label">Targets cooling down</span><span class="stat-value">${cooling.length} <span class="of">of ${targets.length}</span></span><span class="sub">${cooling.length ? cooling.map((t) => `${t.provider} · ${t.model}`).join(', ') : 'every target is in rotation'}</span></li>
    ${policy ? html`<li class=${`stat ${policy === 'none' ? '' : 'info'}`}><span class="stat-label">Routing policy</span>
      ${policy === 'none'
        ? html`<span class="stat-value small">none</span><span class="sub">routes use their static order · <a href=${hrefTo('policies')}>policies</a></span>`
        : html`<span class="stat-value small"><a href=${hrefTo('policies', { tab: 'history', rev: policy.id })}>${policy.name ?? shortId(policy.id)}</a></span><span class="sub">active since ${clock(policy.created)} · ${shortId(policy.id)}</span>`}</li>` : null}
  </ul>`;
}

function RecentTable({ rows }) {
  const notable = rows.filter((r) => NOTABLE.has(r.route_mode) || r.status >= 400).slice(0, 8);
  if (!notable.length) return html`<p class="muted">No failovers, retries or errors in the last hour.</p>`;
  return html`<table class="grid-table recent">
    <caption class="sr-only">Recent failovers and errors</caption>
    <thead><tr><th scope="col">Time</th><th scope="col">Route</th><th scope="col">Mode</th><th scope="col">Attempts</th><th scope="col">Status</th><th scope="col" class="num">Latency</th></tr></thead>
    <tbody>${notable.map((r) => html`<tr>
      <td><a href=${hrefTo('requests', { id: r.id })} aria-label=${`Open request ${r.id} at ${clock(r.ts)}`}>${clock(r.ts)}</a></td>
      <td>${r.route}</td>
      <td><${ModeBadge} mode=${r.route_mode} /></td>
      <td><${AttemptChain} attempts=${r.attempts} /></td>
      <td><${StatusBadge} status=${r.status} errorClass=${r.error_class} /></td>
      <td class="num">${ms(r.latency_ms)}</td>
    </tr>`)}</tbody>
  </table>`;
}

export function Overview() {
  const [paused, setPaused] = useState(false);
  const poll = usePoll(load, paused ? 0 : POLL_MS, [paused]);
  const now = useNow(1000);
  const d = poll.data;
  return html`
    <div class="page-head">
      <h1>Overview</h1>
      <${LiveStatus} at=${poll.at} error=${poll.error} paused=${paused} onToggle=${() => setPaused(!paused)} />
    </div>
    ${poll.error && !d ? html`<${ErrorBox} error=${poll.error} />` : null}
    ${d ? html`
      <${Summary} targets=${d.providers} traffic=${d.traffic} policy=${d.policy} />
      <section class="card" aria-labelledby="targets-title">
        <h2 id="targets-title">Targets</h2>
        <${TargetsTable} targets=${d.providers} traffic=${d.traffic && !d.traffic.unavailable ? d.traffic : null} now=${now} />
      </section>
      <h2 class="section-title">Traffic</h2>
      <${TrafficCharts} traffic=${d.traffic} />
      <section class="card" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent failovers and errors <span class="muted">· last hour, newest first</span></h2>
        <${RecentTable} rows=${d.recent} />
      </section>` : poll.loading ? html`<p class="muted">Loading…</p>` : null}`;
}
