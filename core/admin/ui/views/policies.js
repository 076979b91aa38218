// Policies: revisions, source, diff, and the editor: dry-run a candidate against captured
// traffic (baseline, capture window, providers down), then publish it with a note.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { usePoll } from '../lib/poll.js';
import { num, pct, shortId, signedUsd, usd } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { BeforeAfterBars } from '../lib/charts.js';
import { ErrorBox, WriteButton } from './parts.js';
import { NoteField, Outcome, RevisionsWorkspace, revLabel } from './revisions.js';

const TEMPLATE = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'healthy-first',
  selectProvider({ candidates }) {
    // Healthy targets that are not cooling down, in the route's order.
    const ok = candidates.filter((c) => c.healthy && !c.coolingDown);
    return { order: ok.map((c) => c.id), reason: 'healthy first' };
  },
});
`;

const WINDOWS = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['', 'All captures'],
];

function Report({ report, candidateLabel, baselineLabel, down }) {
  const head = useRef(null);
  useEffect(() => {
    head.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    head.current?.focus({ preventScroll: true });
  }, [report]);
  const rows = Object.entries(report.shift).map(([key, v]) => ({ key, before: v.before, after: v.after })).sort((a, b) => b.before + b.after - (a.before + a.after));
  const delta = report.cost.delta_usd;
  return html`<section class="report" aria-labelledby="report-title">
    <h3 id="report-title" tabindex="-1" ref=${head}>Dry-run report <span class="muted">· ${candidateLabel} vs ${baselineLabel}${down?.length ? ` · simulating ${down.join(', ')} down` : ''}</span></h3>
    ${report.total === 0 ? html`<p class="notice">No captured requests in this window: there is nothing to replay yet. Send some traffic, or widen the window.</p>` : null}
    <ul class="stats" aria-label="Dry-run results">
      <li class="stat"><span class="stat-label">Requests replayed</span><span class="stat-value">${num(report.total)}</span><span class="sub">captured decisions, no provider called</span></li>
      <li class=${`stat ${report.changed ? 'warn' : ''}`}><span class="stat-label">Decisions changed</span><span class="stat-value">${num(report.changed)} <span class="of">${pct(report.changed_share, 1)}</span></span><span class="sub">first target differs from the baseline's</span></li>
      <li class=${`stat ${delta > 0 ? 'bad' : delta < 0 ? 'good' : ''}`}><span class="stat-label">Estimated cost</span><span class="stat-value">${signedUsd(delta)}</span><span class="sub">${usd(report.cost.before_usd)} → ${usd(report.cost.after_usd)}</span></li>
      <li class=${`stat ${report.errors || report.timeouts ? 'bad' : ''}`}><span class="stat-label">Policy errors / timeouts</span><span class="stat-value">${report.errors} <span class="of">/ ${report.timeouts}</span></span><span class="sub">${report.errors || report.timeouts ? 'those requests would be served in the static order' : 'the candidate decided every request'}</span></li>
      <li class="stat"><span class="stat-label">Decision time</span><span class="stat-value">${report.decision_us.p50} <span class="of">µs p50</span></span><span class="sub">${report.decision_us.p99} µs p99, in the sandbox</span></li>
    </ul>
    ${rows.length ? html`<h4>Traffic shift: share of first targets per provider</h4>
      <${BeforeAfterBars} rows=${rows} label="Traffic shift per provider" beforeLabel=${`before (${baselineLabel})`} afterLabel=${`after (${candidateLabel})`} />` : null}
  </section>`;
}

function PolicyEditor({ list, session, params, onChanged }) {
  const active = list.revisions.find((r) => r.active);
  const providers = usePoll(() => api('/providers'), 0, []);
  const providerIds = [...new Set((providers.data?.targets ?? []).map((t) => t.provider))].sort();
  const [kind, setKind] = useState(params.get('candidate') ? 'revision' : 'source');
  const [revision, setRevision] = useState(params.get('candidate') ?? list.revisions[0]?.id ?? '');
  const [source, setSource] = useState(null);
  const [against, setAgainst] = useState('recorded');
  const [since, setSince] = useState('24h');
  const [down, setDown] = useState([]);
  const [note, setNote] = useState('');
  const [requireClean, setRequireClean] = useState(false);
  const [dry, setDry] = useState({});
  const [pub, setPub] = useState({});
  const [busy, setBusy] = useState('');
  const [dryFor, setDryFor] = useState(null);

  // Start from the active policy's source (or a template when none is active).
  useEffect(() => {
    if (source !== null) return;
    if (!active) return setSource((s) => s ?? TEMPLATE);
    api(`/policies/revisions/${active.id}`).then((r) => setSource((s) => s ?? r.source)).catch(() => setSource((s) => s ?? TEMPLATE));
  }, [active?.id]);
  useEffect(() => {
    if (params.get('candidate')) {
      setKind('revision');
      setRevision(params.get('candidate'));
    }
  }, [params.get('candidate')]);

  const candidate = kind === 'source' ? { source: source ?? '' } : kind === 'active' ? 'active' : { revision };
  const candidateKey = JSON.stringify(candidate);
  const labelOf = (id) => revLabel(list.revisions.find((r) => r.id === id)) || shortId(id);
  const candidateLabel = kind === 'source' ? 'editor source' : kind === 'active' ? 'active policy' : labelOf(revision);
  const baselineLabel = against === 'recorded' ? 'recorded decisions' : against === 'active' ? 'active policy' : labelOf(against);

  const runDry = async (e) => {
    e?.preventDefault();
    setBusy('dry');
    setDry({});
    try {
      const report = await api('/policies/dry-run', { method: 'POST', body: { candidate, against, since: since || undefined, down } });
      setDry({ report, candidateLabel, baselineLabel, down });
      setDryFor(candidateKey);
    } catch (error) {
      setDry({ error });
    } finally {
      setBusy('');
    }
  };
  const publish = async () => {
    setBusy('pub');
    setPub({});
    try {
      const r = kind === 'source'
        ? await api('/policies/publish', { method: 'POST', body: { source, note: note || undefined, require_dry_run_clean: requireClean || undefined } })
        : await api('/policies/rollback', { method: 'POST', body: { revision: kind === 'active' ? active?.id : revision, note: note || undefined } });
      setPub({ result: { text: r.changed ? `Published: ${r.name ?? ''} ${shortId(r.id)} is the active policy. The next request follows it.` : 'Nothing changed: this is already the active policy.' } });
      setNote('');
      onChanged();
    } catch (error) {
      setPub({ error });
    } finally {
      setBusy('');
    }
  };
  const toggleDown = (p) => setDown(down.includes(p) ? down.filter((x) => x !== p) : [...down, p]);
  const dryCurrent = dryFor === candidateKey;

  return html`<div class="editor-grid">
    <div class="editor-main">
      <fieldset class="radio-row">
        <legend>Candidate</legend>
        <label><input type="radio" name="cand" value="source" checked=${kind === 'source'} onChange=${() => setKind('source')} /> Source in the editor</label>
        <label><input type="radio" name="cand" value="revision" checked=${kind === 'revision'} onChange=${() => setKind('revision')} disabled=${!list.revisions.length} /> A stored revision</label>
        <label><input type="radio" name="cand" value="active" checked=${kind === 'active'} onChange=${() => setKind('active')} /> The active policy</label>
      </fieldset>
      ${kind === 'source' ? html`
        <div class="field">
          <label for="policy-source">Policy source (TypeScript, imports only <code>switchyard/sdk</code>)</label>
          ${source === null
            // No editor until its first text is in: text typed into an empty box would be
            // overwritten (or appended to) when the active policy's source arrives.
            ? html`<p class="muted">Loading the active policy's source…</p>`
            : html`<textarea id="policy-source" class="code" spellcheck="false" wrap="off" rows="16" value=${source} onInput=${(e) => setSource(e.currentTarget.value)}></textarea>`}
          <div class="actions-row">
            <button type="button" class="btn small" onClick=${() => setSource(TEMPLATE)}>Replace with a template</button>
            ${active ? html`<button type="button" class="btn small" onClick=${() => api(`/policies/revisions/${active.id}`).then((r) => setSource(r.source))}>Load the active policy's source</button>` : null}
          </div>
        </div>` : null}
      ${kind === 'revision' ? html`
        <div class="field"><label for="cand-rev">Revision</label>
          <select id="cand-rev" value=${revision} onChange=${(e) => setRevision(e.currentTarget.value)}>${list.revisions.map((r) => html`<option value=${r.id}>${revLabel(r)}</option>`)}</select></div>` : null}
      ${kind === 'active' ? html`<p class="muted">${active ? `The active policy, ${revLabel(active)}.` : 'No policy is active: the candidate is the static route order.'}</p>` : null}
    </div>
    <div class="editor-side">
      <form class="card inset" onSubmit=${runDry} aria-labelledby="dry-title">
        <h3 id="dry-title">Dry-run against captured traffic</h3>
        <div class="field"><label for="dry-against">Baseline (compare with)</label>
          <select id="dry-against" value=${against} onChange=${(e) => setAgainst(e.currentTarget.value)}>
            <option value="recorded">Decisions recorded at capture time</option>
            <option value="active">The active policy (or static order)</option>
            ${list.revisions.map((r) => html`<option value=${r.id}>${revLabel(r)}</option>`)}
          </select></div>
        <div class="field"><label for="dry-since">Captured requests from</label>
          <select id="dry-since" value=${since} onChange=${(e) => setSince(e.currentTarget.value)}>${WINDOWS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></div>
        <fieldset class="checks">
          <legend>Simulate providers down <span class="muted">(--down)</span></legend>
          ${providerIds.length ? providerIds.map((p) => html`<label><input type="checkbox" name="down" value=${p} checked=${down.includes(p)} onChange=${() => toggleDown(p)} /> ${p}</label>`) : html`<span class="muted">loading providers…</span>`}
        </fieldset>
        <button type="submit" class="btn primary" disabled=${busy === 'dry'}>${busy === 'dry' ? 'Working…' : 'Run dry-run'}</button>
      </form>
      <div class="card inset" aria-labelledby="pub-title">
        <h3 id="pub-title">${kind === 'source' ? 'Publish the editor source' : 'Activate this revision'}</h3>
        <${NoteField} id="pub-note" value=${note} onInput=${setNote} session=${session} />
        ${kind === 'source' ? html`<label class="check"><input type="checkbox" checked=${requireClean} onChange=${(e) => setRequireClean(e.currentTarget.checked)} disabled=${!session.can_write} />
          Refuse if it errors or times out on the last 24 h of captures</label>` : null}
        ${dryCurrent ? (dry.report && (dry.report.errors || dry.report.timeouts) ? html`<p class="warn-text">The dry-run saw ${dry.report.errors} errors and ${dry.report.timeouts} timeouts: those requests would be served in the static order.</p>` : html`<p class="help">Dry-run done for this candidate.</p>`) : html`<p class="help">Tip: run a dry-run of this exact candidate first to see what would change.</p>`}
        <${WriteButton} session=${session} busy=${busy === 'pub'} onClick=${publish} disabled=${kind === 'source' ? !source : kind === 'active' ? !active : !revision}>${kind === 'source' ? 'Publish policy' : 'Activate revision'}</${WriteButton}>
        <${Outcome} ...${pub} />
      </div>
    </div>
    <div class="editor-report">
      ${dry.error ? html`<${ErrorBox} error=${dry.error} title="Dry-run failed" />` : null}
      ${dry.report ? html`<${Report} ...${dry} />` : null}
    </div>
  </div>`;
}

export function Policies({ params, session }) {
  return html`<${RevisionsWorkspace} scope="policy" params=${params} session=${session} title="Policies"
    intro="A policy is a TypeScript module that orders each request's targets. Revisions are immutable; publishing or rolling back moves the active pointer at once, with no restart."
    editTitle="Dry-run & publish" Editor=${PolicyEditor}
    extraActions=${(rev) => html`<button type="button" class="btn" onClick=${() => navigate('policies', { tab: 'edit', candidate: rev.id })}>Dry-run this revision</button>`} />`;
}
