// The revision lifecycle shared by policies and config: the active revision and rollback,
// the history with sources, a diff between any two, and an editor tab supplied by the page.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { usePoll } from '../lib/poll.js';
import { dateTime, relative, revName, shortId } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { DiffView, SourceView } from '../lib/diff.js';
import { ErrorBox, WriteButton } from './parts.js';

export const SCOPES = {
  policy: { base: '/policies', page: 'policies', noun: 'policy', none: 'No policy is active: every route tries its targets in the static order from the config.' },
  config: { base: '/config', page: 'config', noun: 'config', none: 'No config revision is recorded yet.' },
};

export function revLabel(r) {
  if (!r) return '';
  return `${revName(r)} · ${shortId(r.id)}${r.active ? ' · active' : ''}`;
}

/** A note field: why a change is made (kept in the audit log). */
export function NoteField({ id, value, onInput, session }) {
  return html`<div class="field grow"><label for=${id}>Why? <span class="muted">(kept in the audit log)</span></label>
    <input id=${id} type="text" maxlength="2000" placeholder="e.g. incident 4211" value=${value} onInput=${(e) => onInput(e.currentTarget.value)} disabled=${!session.can_write} /></div>`;
}

/** The outcome of a publish or rollback, said in words. */
export function Outcome({ result, error }) {
  if (error) return html`<${ErrorBox} error=${error} title="Refused" />`;
  if (!result) return null;
  return html`<p class="success" role="status">${result.text}</p>`;
}

function ActiveBar({ scope, list, session, onChanged }) {
  const s = SCOPES[scope];
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState({});
  const active = list.revisions.find((r) => r.active);
  const rollback = async () => {
    setBusy(true);
    setOut({});
    try {
      const r = await api(`${s.base}/rollback`, { method: 'POST', body: { note: note || undefined } });
      setOut({ result: { text: r.changed ? (r.id ? `Rolled back: ${revName(r)} ${shortId(r.id)} is active again.` : `Rolled back: no ${s.noun} is active now (static route order).`) : 'Nothing changed: that revision was already active.' } });
      setNote('');
      onChanged();
    } catch (error) {
      setOut({ error });
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card active-bar" aria-labelledby="active-title">
    <div class="active-now">
      <h2 id="active-title">Active ${s.noun}</h2>
      ${active ? html`<p><span class="badge ok">active</span> <b>${revName(active)}</b> <code>${shortId(active.id)}</code>
          <span class="muted"> · since ${relative(active.created)} · by ${active.author ?? 'unknown'}${active.note ? html` · “${active.note}”` : null}</span></p>`
        : html`<p>${s.none}</p>`}
    </div>
    <div class="rollback-form">
      <${NoteField} id=${`rb-note-${scope}`} value=${note} onInput=${setNote} session=${session} />
      <${WriteButton} session=${session} busy=${busy} class="btn danger" onClick=${rollback} disabled=${!active}>Roll back to the previous revision</${WriteButton}>
    </div>
    <${Outcome} ...${out} />
  </section>`;
}

function History({ scope, list, session, selected, onSelect, onChanged, extraActions }) {
  const s = SCOPES[scope];
  const rev = list.revisions.find((r) => r.id === selected) ?? list.revisions.find((r) => r.active) ?? list.revisions[0];
  const source = usePoll(() => (rev ? api(`${s.base}/revisions/${rev.id}`) : null), 0, [rev?.id]);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState({});
  useEffect(() => setOut({}), [rev?.id]);
  if (!list.revisions.length) return html`<p class="muted">No ${s.noun} revisions yet.</p>`;
  const activate = async () => {
    setBusy(true);
    setOut({});
    try {
      const r = await api(`${s.base}/rollback`, { method: 'POST', body: { revision: rev.id, note: note || undefined } });
      setOut({ result: { text: r.changed ? `${revName(rev)} ${shortId(rev.id)} is active now.` : 'Nothing changed: it was already active.' } });
      setNote('');
      onChanged();
    } catch (error) {
      setOut({ error });
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="split">
    <ul class="rev-list" aria-label=${`${s.noun} revisions, newest first`}>
      ${list.revisions.map((r) => html`<li>
        <button type="button" class=${`rev ${r.id === rev?.id ? 'selected' : ''}`} aria-pressed=${r.id === rev?.id} onClick=${() => onSelect(r.id)}>
          <span class="rev-name">${revName(r)} ${r.active ? html`<span class="badge ok">active</span>` : null}</span>
          <span class="rev-meta"><code>${shortId(r.id)}</code> · ${dateTime(r.created)}</span>
          <span class="rev-meta">${r.author ?? 'unknown'}${r.note ? ` · “${r.note}”` : ''}</span>
        </button>
      </li>`)}
    </ul>
    <div class="rev-detail">
      ${rev ? html`
        <h3>${revName(rev)} <code>${shortId(rev.id)}</code> ${rev.active ? html`<span class="badge ok">active</span>` : null}</h3>
        <p class="muted">Created ${dateTime(rev.created)} by ${rev.author ?? 'unknown'}${rev.note ? ` · “${rev.note}”` : ''}</p>
        <div class="actions-row">
          ${rev.active ? null : html`
            <${NoteField} id=${`act-note-${scope}`} value=${note} onInput=${setNote} session=${session} />
            <${WriteButton} session=${session} busy=${busy} onClick=${activate}>Make this revision active</${WriteButton}>`}
          ${list.active && !rev.active ? html`<button type="button" class="btn" onClick=${() => navigate(s.page, { tab: 'compare', a: list.active, b: rev.id })}>Compare with active</button>` : null}
          ${extraActions ? extraActions(rev) : null}
        </div>
        <${Outcome} ...${out} />
        ${source.error ? html`<${ErrorBox} error=${source.error} />` : null}
        ${source.data ? html`<${SourceView} source=${source.data.source} label=${`Source of ${revName(rev)} ${shortId(rev.id)}`} />` : html`<p class="muted">Loading source…</p>`}` : null}
    </div>
  </div>`;
}

function Compare({ scope, list, a, b }) {
  const s = SCOPES[scope];
  const revs = list.revisions;
  const defA = a ?? revs[1]?.id ?? revs[0]?.id ?? '';
  const defB = b ?? revs[0]?.id ?? '';
  const [pair, setPair] = useState({ a: defA, b: defB });
  useEffect(() => setPair({ a: defA, b: defB }), [a, b, revs.length]);
  const diff = usePoll(() => (pair.a && pair.b ? api(`${s.base}/diff`, { query: pair }) : null), 0, [pair.a, pair.b]);
  if (revs.length < 1) return html`<p class="muted">No ${s.noun} revisions to compare.</p>`;
  const pick = (k) => (e) => setPair({ ...pair, [k]: e.currentTarget.value });
  return html`<div>
    <div class="form-row">
      <div class="field grow"><label for=${`diff-a-${scope}`}>From (A)</label>
        <select id=${`diff-a-${scope}`} value=${pair.a} onChange=${pick('a')}>${revs.map((r) => html`<option value=${r.id}>${revLabel(r)} · ${dateTime(r.created)}</option>`)}</select></div>
      <button type="button" class="btn swap" onClick=${() => setPair({ a: pair.b, b: pair.a })} aria-label="Swap A and B">⇄</button>
      <div class="field grow"><label for=${`diff-b-${scope}`}>To (B)</label>
        <select id=${`diff-b-${scope}`} value=${pair.b} onChange=${pick('b')}>${revs.map((r) => html`<option value=${r.id}>${revLabel(r)} · ${dateTime(r.created)}</option>`)}</select></div>
    </div>
    ${diff.error ? html`<${ErrorBox} error=${diff.error} />` : null}
    ${diff.data ? html`<${DiffView} diff=${diff.data.diff} />` : null}
  </div>`;
}

const TABS = [
  ['history', 'Revisions'],
  ['compare', 'Compare'],
  ['edit', null],
];

/** The whole page for a scope; `Editor` renders the third tab. */
export function RevisionsWorkspace({ scope, params, session, title, intro, editTitle, Editor, extraActions }) {
  const s = SCOPES[scope];
  const list = usePoll(() => api(s.base), 10_000, []);
  const tab = params.get('tab') ?? 'history';
  const go = (t, extra = {}) => navigate(s.page, { tab: t, ...extra });
  const tabs = TABS.map(([k, label]) => [k, label ?? editTitle]);
  const onKey = (e) => {
    const i = tabs.findIndex(([k]) => k === tab);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length][0];
      go(next);
      setTimeout(() => document.getElementById(`tab-${scope}-${next}`)?.focus(), 0);
    }
  };
  return html`
    <div class="page-head"><h1>${title}</h1></div>
    <p class="intro">${intro}</p>
    ${list.error && !list.data ? html`<${ErrorBox} error=${list.error} />` : null}
    ${list.data ? html`
      <${ActiveBar} scope=${scope} list=${list.data} session=${session} onChanged=${list.refresh} />
      <div class="tabs" role="tablist" aria-label=${`${title} sections`} onKeyDown=${onKey}>
        ${tabs.map(([k, label]) => html`<button type="button" role="tab" id=${`tab-${scope}-${k}`} aria-selected=${tab === k} aria-controls=${`panel-${scope}`} tabindex=${tab === k ? 0 : -1} class=${`tab ${tab === k ? 'selected' : ''}`} onClick=${() => go(k)}>${label}</button>`)}
      </div>
      <section class="card tab-panel" role="tabpanel" id=${`panel-${scope}`} aria-labelledby=${`tab-${scope}-${tab}`}>
        ${tab === 'history' ? html`<${History} scope=${scope} list=${list.data} session=${session} selected=${params.get('rev')} onSelect=${(id) => go('history', { rev: id })} onChanged=${list.refresh} extraActions=${extraActions} />` : null}
        ${tab === 'compare' ? html`<${Compare} scope=${scope} list=${list.data} a=${params.get('a')} b=${params.get('b')} />` : null}
        ${tab === 'edit' ? html`<${Editor} list=${list.data} session=${session} params=${params} onChanged=${list.refresh} />` : null}
      </section>` : list.loading ? html`<p class="muted">Loading…</p>` : null}`;
}
