// Requests: the request log with filters; a request opens into its attempts timeline and cost.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { usePoll } from '../lib/poll.js';
import { clock, dateTime, ms, num, relative, shortId, targetLabel, usd } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ModeBadge, StatusBadge, ErrorBox, LiveStatus } from './parts.js';

const MODES = ['direct', 'policy', 'retry', 'fallback', 'model_fallback', 'hedged'];
const RANGES = [
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3600_000],
  ['6h', 'Last 6 hours', 6 * 3600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
  ['custom', 'Custom range…', 0],
];
const PAGE = 100;
const FILTER_KEYS = ['route', 'mode', 'provider', 'status', 'range', 'from', 'to'];

/** What the status cannot say: the 200 a client was sent may not have been a whole answer. */
function Ended({ row }) {
  const why = row.client_aborted ? 'client left' : row.interrupted ? 'stream cut by upstream' : null;
  return why ? html` <span class="sub-inline" title="The answer did not reach the client whole">${why}</span>` : null;
}

function filtersFrom(params) {
  const f = { range: '1h' };
  for (const k of FILTER_KEYS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function queryFor(f) {
  const q = { route: f.route, mode: f.mode, provider: f.provider, status: f.status, limit: PAGE };
  if (f.range === 'custom') {
    if (f.from) q.since = Date.parse(f.from);
    if (f.to) q.until = Date.parse(f.to);
  } else {
    const r = RANGES.find(([k]) => k === f.range) ?? RANGES[1];
    q.since = Date.now() - r[2];
  }
  return q;
}

function Filters({ initial, routes, providers, onApply }) {
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial), [JSON.stringify(initial)]);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    onApply(f);
  };
  return html`<form class="filters card" onSubmit=${submit} aria-label="Filter requests">
    <div class="field"><label for="f-route">Route</label>
      <select id="f-route" value=${f.route ?? ''} onChange=${set('route')}><option value="">Any route</option>${routes.map((r) => html`<option value=${r}>${r}</option>`)}</select></div>
    <div class="field"><label for="f-mode">Route mode</label>
      <select id="f-mode" value=${f.mode ?? ''} onChange=${set('mode')}><option value="">Any mode</option>${MODES.map((m) => html`<option value=${m}>${m}</option>`)}</select></div>
    <div class="field"><label for="f-provider">Provider</label>
      <select id="f-provider" value=${f.provider ?? ''} onChange=${set('provider')}><option value="">Any provider</option>${providers.map((p) => html`<option value=${p}>${p}</option>`)}</select></div>
    <div class="field narrow"><label for="f-status">Status</label>
      <input id="f-status" type="number" min="100" max="599" placeholder="any" value=${f.status ?? ''} onInput=${set('status')} /></div>
    <div class="field"><label for="f-range">Time</label>
      <select id="f-range" value=${f.range ?? '1h'} onChange=${set('range')}>${RANGES.map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select></div>
    ${f.range === 'custom' ? html`
      <div class="field"><label for="f-from">From</label><input id="f-from" type="datetime-local" step="1" value=${f.from ?? ''} onInput=${set('from')} /></div>
      <div class="field"><label for="f-to">Until</label><input id="f-to" type="datetime-local" step="1" value=${f.to ?? ''} onInput=${set('to')} /></div>` : null}
    <div class="field actions">
      <button type="submit" class="btn primary">Apply filters</button>
      <button type="button" class="btn" onClick=${() => onApply({ range: '1h' })}>Reset</button>
    </div>
  </form>`;
}

function Timeline({ row }) {
  const attempts = row.attempts ?? [];
  if (!attempts.length) return html`<p class="muted">The gateway made no upstream attempt (refused before routing).</p>`;
  const total = Math.max(row.latency_ms ?? 0, attempts.reduce((s, a) => s + (a.latencyMs ?? 0), 0), 1);
  let offset = 0;
  return html`<ol class="timeline" aria-label="Attempts, in order">
    ${attempts.map((a) => {
      const left = (offset / total) * 100;
      const width = Math.max(0.8, ((a.latencyMs ?? 0) / total) * 100);
      offset += a.latencyMs ?? 0;
      const failed = !!a.errorClass;
      return html`<li class=${`attempt ${failed ? 'attempt-bad' : 'attempt-ok'}`}>
        <div class="attempt-head">
          <span class="attempt-n">#${a.n}</span>
          <span class="attempt-target"><b>${a.provider ?? '—'}</b> · ${a.model ?? targetLabel(a.target)}</span>
          <span class="attempt-result">${a.status ?? 'no status'}${failed ? html` · <b>${a.errorClass}</b>` : ' · ok'} · ${ms(a.latencyMs)}</span>
        </div>
        <div class="track" aria-hidden="true"><span class="bar" style=${{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }}></span></div>
        <div class="sub">target ${a.target}</div>
        ${a.message ? html`<div class="attempt-msg">${a.message}</div>` : null}
      </li>`;
    })}
  </ol>
  <p class="help">Bars are drawn one after another at each attempt's own latency; backoff waits between attempts are not drawn.</p>`;
}

function Detail({ id, onClose, targets }) {
  const poll = usePoll(() => api('/requests', { query: { id } }), 0, [id]);
  const head = useRef(null);
  useEffect(() => {
    head.current?.focus();
    const onKey = (e) => e.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [id]);
  const row = poll.data?.data?.[0];
  const served = row?.attempts?.findLast((a) => !a.errorClass);
  const price = served ? targets.find((t) => t.id === served.target)?.price : null;
  return html`<aside class="drawer" role="region" aria-label=${`Request ${shortId(id)} details`}>
    <div class="drawer-head">
      <h2 id="detail-title" tabindex="-1" ref=${head}>Request <code>${shortId(id)}</code></h2>
      <button type="button" class="btn" onClick=${onClose}>Close <span class="muted">(Esc)</span></button>
    </div>
    ${poll.error ? html`<${ErrorBox} error=${poll.error} />` : null}
    ${!row && !poll.loading && !poll.error ? html`<p>No request <code>${id}</code> in the log (it may have aged out).</p>` : null}
    ${row ? html`
      <dl class="kv">
        <dt>Request id</dt><dd><code class="wrap">${row.id}</code></dd>
        <dt>Time</dt><dd>${dateTime(row.ts)} <span class="muted">(${relative(row.ts)})</span></dd>
        <dt>Route</dt><dd>${row.route} <span class="muted">via ${row.entry}${row.stream ? ', streamed' : ''}</span></dd>
        <dt>Route mode</dt><dd><${ModeBadge} mode=${row.route_mode} /></dd>
        <dt>Served by</dt><dd>${row.provider ? html`<b>${row.provider}</b> · ${row.model}` : html`<span class="muted">nobody</span>`}</dd>
        <dt>Status</dt><dd><${StatusBadge} status=${row.status} errorClass=${row.error_class} /><${Ended} row=${row} />${row.error_code ? html` <code>${row.error_code}</code>` : null}</dd>
        <dt>Latency</dt><dd>${ms(row.latency_ms)} total${row.ttft_ms != null ? html` · ${ms(row.ttft_ms)} to first content` : null}</dd>
        <dt>Tokens</dt><dd>${num(row.input_tokens)} in · ${num(row.output_tokens)} out${row.usage_estimated ? html` <span class="muted">(estimated)</span>` : null}</dd>
        <dt>Cost</dt><dd><b>${usd(row.cost_usd)}</b>${price ? html`<div class="sub">at ${served.provider} · ${served.model} prices: $${price.input} in / $${price.output} out per 1M tokens</div>` : null}</dd>
        ${row.key_id ? html`<dt>Client key</dt><dd>${row.key_id}</dd>` : null}
      </dl>
      <h3>Attempts (${row.attempts.length})</h3>
      <${Timeline} row=${row} />` : poll.loading ? html`<p class="muted">Loading…</p>` : null}
  </aside>`;
}

export function Requests({ params }) {
  const filters = filtersFrom(params);
  const selected = params.get('id');
  const fkey = JSON.stringify(filters);
  const [paused, setPaused] = useState(filters.range === 'custom');
  const [older, setOlder] = useState([]);
  const [olderDone, setOlderDone] = useState(false);
  const meta = usePoll(() => api('/providers'), 0, []);
  const poll = usePoll(() => api('/requests', { query: queryFor(filters) }), paused ? 0 : 5000, [fkey, paused]);
  useEffect(() => { setOlder([]); setOlderDone(false); }, [fkey]);

  const targets = meta.data?.targets ?? [];
  const routes = [...new Set(targets.map((t) => t.route))];
  const providers = [...new Set(targets.map((t) => t.provider))];
  const rows = [...(poll.data?.data ?? []), ...older];

  const apply = (f) => navigate('requests', f);
  const open = (id) => navigate('requests', { ...filters, id });
  const close = () => navigate('requests', filters);
  // Back from the details: focus returns to the row's button.
  const wasSelected = useRef(selected);
  useEffect(() => {
    if (wasSelected.current && !selected) document.querySelector(`[data-open="${CSS.escape(wasSelected.current)}"]`)?.focus();
    wasSelected.current = selected;
  }, [selected]);
  const loadOlder = async () => {
    const last = rows[rows.length - 1];
    if (!last) return;
    const r = await api('/requests', { query: { ...queryFor(filters), until: last.ts - 1 } });
    setOlder([...older, ...r.data]);
    if (r.data.length < PAGE) setOlderDone(true);
  };

  return html`
    <div class="page-head">
      <h1>Requests</h1>
      <${LiveStatus} at=${poll.at} error=${poll.error} paused=${paused} onToggle=${() => setPaused(!paused)} />
    </div>
    <${Filters} initial=${filters} routes=${routes} providers=${providers} onApply=${apply} />
    ${poll.error ? html`<${ErrorBox} error=${poll.error} />` : null}
    <section class="card" aria-labelledby="log-title">
      <h2 id="log-title">Request log <span class="muted">· ${rows.length} shown, newest first · choose a request to see its attempts</span></h2>
      ${rows.length === 0 && !poll.loading && !poll.error ? html`<p class="muted">No requests match these filters.</p>` : null}
      ${rows.length ? html`<table class="grid-table requests">
        <caption class="sr-only">Request log</caption>
        <thead><tr>
          <th scope="col">Time</th><th scope="col">Request</th><th scope="col">Route</th><th scope="col">Mode</th>
          <th scope="col">Served by</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th>
          <th scope="col" class="num">Latency</th><th scope="col" class="num">Tokens in/out</th><th scope="col" class="num">Cost</th>
        </tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.id} class=${`clickable ${r.id === selected ? 'selected' : ''}`} onClick=${() => open(r.id)}>
          <td>${clock(r.ts)}</td>
          <td><button type="button" class="linklike" data-open=${r.id} onClick=${(e) => { e.stopPropagation(); open(r.id); }} aria-label=${`Open request ${r.id}`}><code>${shortId(r.id)}</code></button></td>
          <td>${r.route}</td>
          <td><${ModeBadge} mode=${r.route_mode} /></td>
          <td>${r.provider ? html`<b>${r.provider}</b> · ${r.model}` : html`<span class="muted">—</span>`}</td>
          <td><${StatusBadge} status=${r.status} errorClass=${r.error_class} /><${Ended} row=${r} /></td>
          <td class="num">${r.attempts.length}</td>
          <td class="num">${ms(r.latency_ms)}</td>
          <td class="num">${num(r.input_tokens)} / ${num(r.output_tokens)}</td>
          <td class="num">${usd(r.cost_usd)}</td>
        </tr>`)}</tbody>
      </table>` : null}
      ${rows.length >= PAGE && !olderDone ? html`<p><button type="button" class="btn" onClick=${loadOlder}>Load older requests</button></p>` : null}
    </section>
    ${selected ? html`<${Detail} id=${selected} onClose=${close} targets=${targets} />` : null}`;
}
