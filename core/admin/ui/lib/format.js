// Formatting for people: times, durations, money, ids.

const pad = (n) => String(n).padStart(2, '0');

export function clock(ts) {
  if (ts == null) return '—';
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(ts) {
  if (ts == null) return '—';
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ts)}`;
}

/** "12 s ago", "in 3 min". */
export function relative(ts, now = Date.now()) {
  if (ts == null) return '';
  const s = Math.round((ts - now) / 1000);
  const a = Math.abs(s);
  if (a < 3) return 'just now';
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

export function ms(v) {
  if (v == null || Number.isNaN(v)) return '—';
  if (v >= 10000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  return `${Number(v).toFixed(1)} ms`;
}

export function usd(v, digits) {
  if (v == null) return '—';
  const a = Math.abs(v);
  const d = digits ?? (a === 0 ? 2 : a < 0.01 ? 6 : a < 1 ? 4 : 2);
  return `${v < 0 ? '−' : ''}$${a.toFixed(d)}`;
}

export function signedUsd(v) {
  if (v == null) return '—';
  return v > 0 ? `+${usd(v)}` : usd(v);
}

export function pct(v, digits = 0) {
  if (v == null || Number.isNaN(v)) return '—';
  return `${(v * 100).toFixed(digits)}%`;
}

/** Revision hashes: 12 hex digits; request UUIDs: their first group. */
export function shortId(id) {
  if (!id) return '—';
  const s = String(id);
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(s) ? s.slice(0, 8) : s.slice(0, 12);
}

export function num(v) {
  if (v == null) return '—';
  return Number(v).toLocaleString('en-US');
}

/** A revision's name for people: config revisions are named by their file path; show the file. */
export function revName(r) {
  if (!r?.name) return '(unnamed)';
  return r.name.includes('/') ? r.name.slice(r.name.lastIndexOf('/') + 1) : r.name;
}

/** A target id is `${route}#${index}:${provider}/${model}`: the part after the colon reads best. */
export function targetLabel(id) {
  if (!id) return '—';
  const i = id.indexOf(':');
  return i >= 0 ? id.slice(i + 1) : id;
}
