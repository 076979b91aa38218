// Charts drawn as inline SVG: stacked bars over time, and before/after bars.
import { html } from './html.js';
import { clock, pct } from './format.js';

const MODE_COLORS = {
  direct: '#4f74a8',
  policy: '#23907f',
  retry: '#d9a514',
  fallback: '#e07b24',
  model_fallback: '#c2413a',
  hedged: '#8057b8',
};
const PALETTE = ['#3d6fb4', '#22947f', '#d17d12', '#8c5bc4', '#c8404f', '#5e8a2e', '#2b8fb8', '#a0693c', '#6b7785'];

export function modeColor(mode) {
  return MODE_COLORS[mode] ?? '#8a94a3';
}

/** Stable colours for a set of names (providers): sorted, then the palette in order. */
export function paletteFor(names) {
  const out = {};
  [...names].sort().forEach((n, i) => (out[n] = n === '(none)' ? '#9aa3ae' : PALETTE[i % PALETTE.length]));
  return out;
}

function niceMax(v) {
  if (v <= 4) return Math.max(1, Math.ceil(v));
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * buckets: [{ t, counts: { key: n } }], keys: stacking order (bottom first), colors: { key: colour }.
 */
export function StackedBars({ buckets, keys, colors, label, unit = 'requests', height = 190 }) {
  const W = 560;
  const H = height;
  const m = { l: 38, r: 10, t: 10, b: 24 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const totals = buckets.map((b) => keys.reduce((s, k) => s + (b.counts[k] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const bw = pw / Math.max(1, buckets.length);
  const y = (v) => m.t + ph - (v / max) * ph;
  const ticks = [0, max / 2, max].filter((v, i, a) => a.indexOf(v) === i && (Number.isInteger(v) || max > 4));
  const sum = {};
  for (const b of buckets) for (const k of keys) sum[k] = (sum[k] ?? 0) + (b.counts[k] ?? 0);
  const grand = totals.reduce((a, b) => a + b, 0);
  const summary = `${label}: ${grand} ${unit} in ${buckets.length} minutes` + (grand ? ` (${keys.filter((k) => sum[k]).map((k) => `${k} ${sum[k]}`).join(', ')})` : '');

  return html`
    <figure class="chart">
      <svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${summary} preserveAspectRatio="xMidYMid meet">
        ${ticks.map((v) => html`
          <line x1=${m.l} x2=${W - m.r} y1=${y(v)} y2=${y(v)} class="grid" />
          <text x=${m.l - 6} y=${y(v) + 4} text-anchor="end" class="axis">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`)}
        ${buckets.map((b, i) => {
          let acc = 0;
          const d = new Date(b.t);
          return html`<g>
            ${keys.map((k) => {
              const n = b.counts[k] ?? 0;
              if (!n) return null;
              const y0 = y(acc);
              acc += n;
              const y1 = y(acc);
              return html`<rect x=${m.l + i * bw + 0.5} y=${y1} width=${Math.max(1, bw - 1)} height=${Math.max(0.5, y0 - y1)} fill=${colors[k] ?? '#999'}><title>${clock(b.t).slice(0, 5)} · ${k}: ${n}</title></rect>`;
            })}
            ${d.getMinutes() % 10 === 0 && i > 1 && i < buckets.length - 5
              ? html`<text x=${m.l + i * bw + bw / 2} y=${H - 6} text-anchor="middle" class="axis">${clock(b.t).slice(0, 5)}</text>`
              : null}
          </g>`;
        })}
        <text x=${W - m.r} y=${H - 6} text-anchor="end" class="axis">now</text>
        <line x1=${m.l} x2=${W - m.r} y1=${y(0)} y2=${y(0)} class="baseline" />
        ${grand === 0 ? html`<text x=${m.l + pw / 2} y=${m.t + ph / 2} text-anchor="middle" class="empty">No ${unit} in this period</text>` : null}
      </svg>
      <figcaption>
        <ul class="legend">
          ${keys.map((k) => html`<li><span class="swatch" style=${{ background: colors[k] ?? '#999' }}></span>${k} <b>${sum[k] ?? 0}</b></li>`)}
        </ul>
      </figcaption>
    </figure>`;
}

/** rows: [{ key, before, after }] with shares 0..1; drawn at its own size (no scaling of the text). */
export function BeforeAfterBars({ rows, label, beforeLabel = 'baseline', afterLabel = 'candidate' }) {
  const W = 760;
  const rowH = 44;
  const m = { l: 120, r: 150, t: 4 };
  const H = m.t + rows.length * rowH + 4;
  const pw = W - m.l - m.r;
  const summary = `${label}: ` + rows.map((r) => `${r.key} ${pct(r.before, 1)} before, ${pct(r.after, 1)} after`).join('; ');
  return html`
    <figure class="chart fixed">
      <ul class="legend">
        <li><span class="swatch swatch-before"></span>${beforeLabel}</li>
        <li><span class="swatch swatch-after"></span>${afterLabel}</li>
      </ul>
      <svg viewBox="0 0 ${W} ${H}" width=${W} height=${H} role="img" aria-label=${summary}>
        ${rows.map((r, i) => {
          const y0 = m.t + i * rowH;
          const delta = r.after - r.before;
          return html`<g>
            <text x=${m.l - 10} y=${y0 + 22} text-anchor="end" class="label">${r.key}</text>
            <line x1=${m.l} x2=${m.l} y1=${y0 + 2} y2=${y0 + 38} class="baseline" />
            <rect x=${m.l} y=${y0 + 4} width=${Math.max(r.before > 0 ? 1 : 0, r.before * pw)} height="15" class="bar-before"><title>${r.key} ${beforeLabel}: ${pct(r.before, 1)}</title></rect>
            <text x=${m.l + r.before * pw + 6} y=${y0 + 16} class="axis">${pct(r.before, 1)}</text>
            <rect x=${m.l} y=${y0 + 21} width=${Math.max(r.after > 0 ? 1 : 0, r.after * pw)} height="15" class="bar-after"><title>${r.key} ${afterLabel}: ${pct(r.after, 1)}</title></rect>
            <text x=${m.l + r.after * pw + 6} y=${y0 + 33} class=${`axis ${delta > 0.0005 ? 'up' : delta < -0.0005 ? 'down' : ''}`}>${pct(r.after, 1)}${Math.abs(delta) >= 0.0005 ? ` (${delta > 0 ? '+' : '−'}${pct(Math.abs(delta), 1)})` : ''}</text>
          </g>`;
        })}
      </svg>
    </figure>`;
}

/** A small horizontal meter (health score 0..1). */
export function Meter({ value, label }) {
  const v = Math.max(0, Math.min(1, value ?? 0));
  const cls = v >= 0.8 ? 'good' : v >= 0.5 ? 'warn' : 'bad';
  return html`<span class="meter" role="meter" aria-valuemin="0" aria-valuemax="1" aria-valuenow=${v} aria-label=${label}>
    <span class=${`meter-fill ${cls}`} style=${{ width: `${Math.round(v * 100)}%` }}></span>
  </span>`;
}
