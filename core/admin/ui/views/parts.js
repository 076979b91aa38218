// Small pieces shared by the pages.
import { html } from '../lib/html.js';
import { clock, ms, targetLabel } from '../lib/format.js';
import { modeColor } from '../lib/charts.js';

const MODE_HELP = {
  direct: 'first target, first try',
  retry: 'the same target again',
  fallback: 'a later target with the same model',
  model_fallback: 'a later target with another model',
  policy: 'the active policy changed the order',
  hedged: 'a hedged request won',
};

export function ModeBadge({ mode }) {
  return html`<span class="mode" title=${MODE_HELP[mode] ?? mode}><span class="dot" style=${{ background: modeColor(mode) }}></span>${mode}</span>`;
}

export function StatusBadge({ status, errorClass }) {
  const cls = status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'ok';
  return html`<span class=${`badge ${cls}`}>${status}</span>${errorClass ? html` <span class="sub-inline">${errorClass}</span>` : null}`;
}

/** "openai · gpt-4o-mini 429 rate_limited → groq · llama 200". */
export function AttemptChain({ attempts }) {
  if (!attempts?.length) return html`<span class="muted">no attempt</span>`;
  return html`<span class="chain">${attempts.map((a, i) => html`${i ? html`<span class="arrow" aria-label="then">→</span>` : null}<span class=${`hop ${a.errorClass ? 'hop-bad' : 'hop-ok'}`}>${a.provider ?? targetLabel(a.target)} <b>${a.status ?? '—'}</b>${a.errorClass ? ` ${a.errorClass}` : ''}</span>`)}</span>`;
}

export function LiveStatus({ at, error, paused, onToggle }) {
  return html`<div class="live" aria-live="polite">
    <span class=${`live-dot ${paused ? 'paused' : error ? 'bad' : ''}`} aria-hidden="true"></span>
    <span>${paused ? 'Paused' : error ? `Update failed: ${error.message}` : at ? `Live · updated ${clock(at)}` : 'Loading…'}</span>
    <button type="button" class="btn small" onClick=${onToggle} aria-pressed=${paused}>${paused ? 'Resume updates' : 'Pause updates'}</button>
  </div>`;
}

const NO_DATA_DIR = 'This gateway runs without a data dir, so it keeps no revisions, audit log or request log. Start it with --data-dir DIR (switchyard start uses ./.switchyard by default) to use this page.';

export function ErrorBox({ error, title = 'Something went wrong' }) {
  if (!error) return null;
  if (error.status === 404 && /no such endpoint|data dir/i.test(error.message)) return html`<p class="notice" role="status">${NO_DATA_DIR}</p>`;
  return html`<div class="error-box" role="alert"><b>${title}${error.status ? ` (${error.status})` : ''}:</b> <pre>${error.message}</pre></div>`;
}

/** A button that changes state: disabled for viewers, with the reason next to it. */
export function WriteButton({ session, children, busy, disabled, class: cls = 'btn primary', ...rest }) {
  const readOnly = !session?.can_write;
  return html`<button type="button" class=${cls} disabled=${readOnly || busy || disabled} title=${readOnly ? 'Read only: sign in with the admin token to do this' : undefined} ...${rest}>${busy ? 'Working…' : children}</button>`;
}

export { ms };
