/**
 * Secret redaction: the last line of defence behind "never log, never echo".
 *
 * Every secret a config holds (provider api keys and header values, client keys, admin
 * tokens, the Redis URL's password) is registered here when a gateway is built. `scrub`
 * replaces any registered secret in a string; the logger runs every line through it
 * (core/log.ts) and gateway error bodies go through it (core/errors.ts). Structured
 * redaction (pino redact paths, never putting secrets into messages in the first place)
 * remains the first line; this catches what slips past, e.g. an upstream body echoing a key.
 *
 * Process-wide on purpose: secrets are process-wide, and more redaction never hurts.
 */

const MIN_SECRET_LENGTH = 8;
export const REDACTED = '[redacted]';

const secrets = new Set<string>();
let pattern: RegExp | null = null;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function registerSecrets(values: Iterable<string | null | undefined>): void {
  let changed = false;
  for (const v of values) {
    if (typeof v !== 'string' || v.length < MIN_SECRET_LENGTH || secrets.has(v)) continue;
    secrets.add(v);
    // A JSON-escaped form differs when the secret has quotes or backslashes.
    const json = JSON.stringify(v).slice(1, -1);
    if (json !== v) secrets.add(json);
    changed = true;
  }
  if (changed) pattern = new RegExp([...secrets].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
}

/** `text` with every registered secret replaced by [redacted]. */
export function scrub(text: string): string {
  if (!pattern || !text) return text;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, REDACTED) : text;
}

/** A body (string or bytes) with secrets replaced; returns the input when it holds none. */
export function scrubBody<T extends string | Buffer>(body: T): T | string {
  if (!pattern) return body;
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const out = scrub(text);
  return out === text ? body : out;
}

interface SecretBearingConfig {
  providers: { api_key?: string; headers?: Record<string, string> }[];
  keys?: readonly { key: string }[];
  admin?: { token?: string; viewer_token?: string };
  limits?: { redis_url?: string };
}

function urlPassword(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.password ? decodeURIComponent(u.password) : null;
  } catch {
    return null;
  }
}

/** Every secret value a config holds. */
export function configSecrets(config: SecretBearingConfig): string[] {
  const out: string[] = [];
  for (const p of config.providers) {
    if (p.api_key) out.push(p.api_key);
    for (const v of Object.values(p.headers ?? {})) out.push(v);
  }
  for (const k of config.keys ?? []) out.push(k.key);
  if (config.admin?.token) out.push(config.admin.token);
  if (config.admin?.viewer_token) out.push(config.admin.viewer_token);
  const pw = urlPassword(config.limits?.redis_url);
  if (pw) out.push(pw);
  return out;
}

/**
 * A copy of a config safe to show (admin API, `config diff`): secret fields replaced by
 * [redacted], provider header values too (they often carry credentials).
 */
export function redactConfig<C extends SecretBearingConfig>(config: C): C {
  const c = structuredClone(config) as C & Record<string, unknown>;
  for (const p of c.providers) {
    if (p.api_key) p.api_key = REDACTED;
    if (p.headers) for (const k of Object.keys(p.headers)) p.headers[k] = REDACTED;
  }
  for (const k of c.keys ?? []) k.key = REDACTED;
  if (c.admin?.token) c.admin.token = REDACTED;
  if (c.admin?.viewer_token) c.admin.viewer_token = REDACTED;
  if (c.limits?.redis_url && urlPassword(c.limits.redis_url)) {
    const u = new URL(c.limits.redis_url);
    u.password = 'redacted';
    c.limits.redis_url = u.toString();
  }
  return c;
}
