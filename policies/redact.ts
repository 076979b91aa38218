/** Secret-bearing config keys: their literal values never leave the data dir. */
const SECRET_LINE = /^(\s*-?\s*(?:api_key|key|token|viewer_token)\s*:\s*)(?!["']?\$\{)("[^"]*"|'[^']*'|[^\s,}#]+)/gm;
const SECRET_INLINE = /((?:^|[{,]\s*)(?:api_key|key|token|viewer_token)\s*:\s*)(?!["']?\$\{)("[^"]*"|'[^']*'|[^\s,}#]+)/gm;
const SECRET_JSON = /("(?:api_key|key|token|viewer_token)"\s*:\s*)"(?!\$\{)[^"]*"/g;

/** A config source with literal secrets replaced; `${ENV}` references are kept (they name, not hold). */
export function redactConfigSource(source: string): string {
  return source.replace(SECRET_JSON, '$1"[redacted]"').replace(SECRET_LINE, '$1[redacted]').replace(SECRET_INLINE, '$1[redacted]');
}
