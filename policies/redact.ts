import { isMap, isPair, isScalar, parseDocument, visit, type Scalar } from 'yaml';
import { REDACTED, scrub } from '../core/access/secrets.js';

/** Secret-bearing config keys: their literal values never leave the data dir. */
const SECRET_LINE = /^(\s*-?\s*(?:api_key|key|token|viewer_token)\s*:\s*)(?!["']?\$\{)("[^"]*"|'[^']*'|[^\s,}#]+)/gm;
const SECRET_INLINE = /((?:^|[{,]\s*)(?:api_key|key|token|viewer_token)\s*:\s*)(?!["']?\$\{)("[^"]*"|'[^']*'|[^\s,}#]+)/gm;
const SECRET_JSON = /("(?:api_key|key|token|viewer_token)"\s*:\s*)"(?!\$\{)[^"]*"/g;

/** Field names whose value is a credential, wherever they sit (providers, keys, admin, plugin configs). */
const SECRET_FIELD = /^(?:api_key|key|token|viewer_token|password|secret)$/i;
/** Maps whose every value is treated as a credential: provider `headers:` often carry one. */
const SECRET_MAPS = new Set(['headers']);
/** A URL's userinfo password (`redis_url: redis://:pw@host`), found in the scalar's source text. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:@/\s"']*:)([^@/\s"']+)@/i;
const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/g;

/** A value that only names variables (`${KEY}`, `Bearer ${TOKEN}`) holds no secret. */
function onlyRefs(text: string): boolean {
  const bare = text.replace(/^["']|["']$/g, '').replace(ENV_REF, '').trim();
  return bare === '' || /^(?:bearer|basic|token)$/i.test(bare);
}

/** The replacement for a scalar's source text, keeping its quoting (JSON stays JSON). */
function masked(node: Scalar, text: string): string {
  const tail = /\s*$/.exec(text)![0];
  if (node.type === 'QUOTE_DOUBLE') return `"${REDACTED}"`;
  if (node.type === 'QUOTE_SINGLE') return `'${REDACTED}'`;
  return REDACTED + (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? tail : '');
}

/**
 * Source ranges to mask, found on the parsed tree so that every YAML form (block, flow,
 * quoted, multi-line, JSON) is covered. `${ENV}` references are swapped for same-length
 * filler first: they are not YAML, and the offsets must still point into `source`.
 */
function secretRanges(source: string): { start: number; end: number; text: string }[] | null {
  const doc = parseDocument(source.replace(ENV_REF, (m) => '_'.repeat(m.length)));
  if (doc.errors.length) return null;
  const out: { start: number; end: number; text: string }[] = [];
  visit(doc, {
    Pair(_key, pair, path) {
      const v = pair.value;
      if (!isScalar(v) || !v.range) return;
      const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const parent = path[path.length - 2];
      const inSecretMap = isMap(path[path.length - 1]) && isPair(parent) && SECRET_MAPS.has(String(isScalar(parent.key) ? parent.key.value : parent.key));
      const text = source.slice(v.range[0], v.range[1]);
      if ((SECRET_FIELD.test(name) || inSecretMap) && !onlyRefs(text)) {
        out.push({ start: v.range[0], end: v.range[1], text: masked(v, text) });
        return;
      }
      const pw = URL_PASSWORD.exec(text);
      if (pw && !onlyRefs(pw[2])) {
        const start = v.range[0] + pw.index + pw[1].length;
        out.push({ start, end: start + pw[2].length, text: 'redacted' });
      }
    },
  });
  return out;
}

/**
 * A config source with literal secrets replaced; `${ENV}` references are kept (they name, not
 * hold). Secrets the running gateway knows are scrubbed too, wherever they appear. A source that
 * does not parse falls back to line patterns.
 */
export function redactConfigSource(source: string): string {
  const ranges = secretRanges(source);
  let out: string;
  if (ranges) {
    out = source;
    for (const r of ranges.sort((a, b) => b.start - a.start)) out = out.slice(0, r.start) + r.text + out.slice(r.end);
  } else {
    out = source.replace(SECRET_JSON, '$1"[redacted]"').replace(SECRET_LINE, '$1[redacted]').replace(SECRET_INLINE, '$1[redacted]');
  }
  return scrub(out);
}
