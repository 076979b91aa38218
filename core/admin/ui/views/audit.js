// Audit: every publish and rollback of policies and config: who, what, when, why, from → to.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { usePoll } from '../lib/poll.js';
import { dateTime, relative, revName, shortId } from '../lib/format.js';
import { hrefTo } from '../lib/nav.js';
import { ErrorBox } from './parts.js';

async function load(scope) {
  const [audit, policies, config] = await Promise.all([
    api('/audit', { query: { scope, limit: 500 } }),
    api('/policies').catch(() => ({ revisions: [] })),
    api('/config').catch(() => ({ revisions: [] })),
  ]);
  const names = new Map();
  for (const r of policies.revisions) names.set(`policy:${r.id}`, revName(r));
  for (const r of config.revisions) names.set(`config:${r.id}`, revName(r));
  return { rows: audit.data, names };
}

function Rev({ scope, id, names }) {
  if (!id) return html`<span class="muted">${scope === 'policy' ? 'no policy (static order)' : 'nothing'}</span>`;
  const name = names.get(`${scope}:${id}`);
  return html`<a href=${hrefTo(scope === 'policy' ? 'policies' : 'config', { tab: 'history', rev: id })}>${name ? `${name} ` : ''}<code>${shortId(id)}</code></a>`;
}

export function Audit() {
  const [scope, setScope] = useState('');
  const poll = usePoll(() => load(scope), 10_000, [scope]);
  const rows = poll.data?.rows ?? [];
  return html`
    <div class="page-head"><h1>Audit log</h1></div>
    <p class="intro">Every publish and rollback, newest first: who did it, when, why, and which revision was active before and after.</p>
    <div class="form-row card">
      <div class="field"><label for="audit-scope">Show</label>
        <select id="audit-scope" value=${scope} onChange=${(e) => setScope(e.currentTarget.value)}>
          <option value="">Policies and config</option><option value="policy">Policies only</option><option value="config">Config only</option>
        </select></div>
    </div>
    ${poll.error ? html`<${ErrorBox} error=${poll.error} />` : null}
    ${poll.error && !rows.length ? null : html`<section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title" class="sr-only">Audit entries</h2>
      ${rows.length ? html`<table class="grid-table audit">
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">From → to</th><th scope="col">Why</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.id}>
          <td class="nowrap">${dateTime(r.ts)}<div class="sub">${relative(r.ts)}</div></td>
          <td>${r.actor}</td>
          <td><span class=${`badge ${r.action === 'rollback' ? 'warn' : 'info'}`}>${r.action}</span> ${r.scope}</td>
          <td><${Rev} scope=${r.scope} id=${r.from_rev} names=${poll.data.names} /> <span aria-label="to">→</span> <${Rev} scope=${r.scope} id=${r.to_rev} names=${poll.data.names} /></td>
          <td>${r.note ? r.note : html`<span class="muted">no note</span>`}</td>
        </tr>`)}</tbody>
      </table>` : poll.loading ? html`<p class="muted">Loading…</p>` : poll.error ? null : html`<p class="muted">Nothing published or rolled back yet.</p>`}
    </section>`}`;
}
