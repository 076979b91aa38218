import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';

/** A config problem: a field path and what is wrong with it. */
export class ConfigError extends Error {
  readonly issues: { path: string; message: string }[];
  constructor(source: string, issues: { path: string; message: string }[]) {
    super(`invalid config ${source}:\n` + issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadedConfig {
  config: Config;
  /** The file's text as written (before ${ENV} expansion): what a config revision stores. */
  source: string;
  /** sha256 of `source`. */
  hash: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const PLACEHOLDER = /__SYENV(\d+)__/g;

interface EnvRef {
  name: string;
  fallback: string | undefined;
}

/**
 * ${VAR} may sit anywhere, even unquoted inside a YAML flow map (`{ api_key: ${KEY} }`), so
 * references are swapped for inert tokens before parsing and expanded after, on the tree,
 * where each one's field path is known.
 */
function protectRefs(text: string): { text: string; refs: EnvRef[] } {
  const refs: EnvRef[] = [];
  const out = text.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
    refs.push({ name, fallback });
    return `__SYENV${refs.length - 1}__`;
  });
  return { text: out, refs };
}

/** A value that was exactly one reference takes the variable's scalar type (port: ${PORT}). */
function scalar(v: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

function expandEnv(node: unknown, refs: EnvRef[], env: NodeJS.ProcessEnv, path: PropertyKey[], issues: { path: string; message: string }[]): unknown {
  if (typeof node === 'string') {
    if (!node.includes('__SYENV')) return node;
    let whole = false;
    const value = node.replace(PLACEHOLDER, (m, b: string) => {
      whole = m === node;
      const ref = refs[Number(b)];
      const v = env[ref.name];
      if (v !== undefined && v !== '') return v;
      if (ref.fallback !== undefined) return ref.fallback;
      issues.push({ path: formatPath(path), message: `environment variable ${ref.name} is not set` });
      return '';
    });
    return whole ? scalar(value) : value;
  }
  if (Array.isArray(node)) return node.map((v, i) => expandEnv(v, refs, env, [...path, i], issues));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = expandEnv(v, refs, env, [...path, k], issues);
    return out;
  }
  return node;
}

/**
 * What is wrong and where, without the parser's quote of the input: the line with the typo is
 * often the one holding a literal key, and this message reaches logs and the admin API.
 * (yaml appends a code frame after the first line; V8 quotes a JSON snippet: `"…" is not valid JSON`.)
 */
function parseProblem(err: Error): string {
  const first = String(err.message).split('\n')[0].replace(/:\s*$/, '');
  return first.replace(/,\s*(?:\.\.\.)?".*" is not valid JSON$/, ' (not valid JSON)');
}

/** Parse, expand and validate config text. Throws ConfigError naming every bad field. */
export function parseConfig(text: string, sourceName: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let raw: unknown;
  const { text: protectedText, refs } = protectRefs(text);
  try {
    raw = extname(sourceName) === '.json' ? JSON.parse(protectedText) : parseYaml(protectedText);
  } catch (err) {
    throw new ConfigError(sourceName, [{ path: '', message: `cannot parse: ${parseProblem(err as Error)}` }]);
  }
  const issues: { path: string; message: string }[] = [];
  const expanded = expandEnv(raw ?? {}, refs, env, [], issues);
  if (issues.length) throw new ConfigError(sourceName, issues);
  const result = configSchema.safeParse(expanded);
  if (!result.success) {
    throw new ConfigError(sourceName, result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  return { config: result.data, source: text, hash: createHash('sha256').update(text).digest('hex') };
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseConfig(text, file, env);
}
