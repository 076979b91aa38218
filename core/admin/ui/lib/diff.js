// A unified diff, coloured line by line.
import { html } from './html.js';

export function DiffView({ diff }) {
  if (!diff) return null;
  const lines = diff.replace(/\n+$/, '').split('\n').filter((l, i) => !(i === 0 && l.startsWith('=====')));
  const changed = lines.some((l) => (l.startsWith('+') && !l.startsWith('+++')) || (l.startsWith('-') && !l.startsWith('---')));
  return html`<div>
    ${changed ? null : html`<p class="muted">The two revisions have the same source.</p>`}
    <pre class="diff" tabindex="0" aria-label="Unified diff">${lines.map((l) => {
      const cls = l.startsWith('+++') || l.startsWith('---') || l.startsWith('Index:') ? 'd-head' : l.startsWith('@@') ? 'd-hunk' : l.startsWith('+') ? 'd-add' : l.startsWith('-') ? 'd-del' : 'd-ctx';
      return html`<span class=${cls}>${l || ' '}</span>`;
    })}</pre>
  </div>`;
}

/** Source with line numbers. */
export function SourceView({ source, label }) {
  const lines = (source ?? '').replace(/\n$/, '').split('\n');
  return html`<pre class="source" tabindex="0" aria-label=${label}>${lines.map((l, i) => html`<span class="line"><span class="ln" aria-hidden="true">${i + 1}</span>${l || ' '}</span>`)}</pre>`;
}
