import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { resolve as resolveImport } from 'import-meta-resolve';
import type { PluginDefinition } from '../../sdk/plugin.js';

/** The built-in plugins, loaded by name; the same API as any community plugin. */
export const BUILTINS: Record<string, () => Promise<PluginDefinition<unknown>>> = {
  health: async () => (await import('../../plugins/health/index.js')).default as PluginDefinition<unknown>,
  cooldown: async () => (await import('../../plugins/cooldown/index.js')).default as PluginDefinition<unknown>,
  cost: async () => (await import('../../plugins/cost/index.js')).default as PluginDefinition<unknown>,
  telemetry: async () => (await import('../../plugins/telemetry/index.js')).default as PluginDefinition<unknown>,
};
export const DEFAULT_PLUGINS = ['health', 'cooldown', 'cost', 'telemetry'];

export class PluginLoadError extends Error {
  constructor(plugin: string, message: string) {
    super(`plugin ${plugin}: ${message}`);
    this.name = 'PluginLoadError';
  }
}

export interface LoadedPlugin {
  def: PluginDefinition<unknown>;
  /** The raw `config:` of its `plugins:` entry. */
  rawConfig: unknown;
  /** What the config listed (name, package or path). */
  spec: string;
}

/** Import a plugin named by a config entry: built-in name, file path, or npm package name. */
async function importPlugin(spec: string, baseDir: string): Promise<unknown> {
  const builtin = BUILTINS[spec];
  if (builtin) return builtin();
  let url: string;
  if (spec.startsWith('.') || isAbsolute(spec)) {
    url = pathToFileURL(resolve(baseDir, spec)).href;
  } else {
    // A package name: resolve it from the config's folder first, then from Switchyard's own.
    try {
      url = pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(spec)).href;
    } catch {
      // An ESM-only package (`exports` with only an `import` condition) that require.resolve
      // cannot see: resolved as an import from the config's folder would be.
      try {
        url = resolveImport(spec, pathToFileURL(join(baseDir, 'noop.js')).href);
      } catch {
        url = spec;
      }
    }
  }
  const mod = (await import(url)) as { default?: unknown; plugin?: unknown };
  return mod.default ?? mod.plugin ?? mod;
}

function check(def: unknown, spec: string): PluginDefinition<unknown> {
  const d = def as PluginDefinition<unknown>;
  if (!d || typeof d !== 'object') throw new PluginLoadError(spec, 'module does not export a plugin object (default export)');
  if (typeof d.name !== 'string' || !d.name) throw new PluginLoadError(spec, 'is missing a "name"');
  if (typeof d.version !== 'string' || !semver.valid(d.version)) throw new PluginLoadError(d.name, `has an invalid "version" ${JSON.stringify(d.version)} (semver expected)`);
  if (d.hooks !== undefined && typeof d.hooks !== 'object' && typeof d.hooks !== 'function') throw new PluginLoadError(d.name, '"hooks" must be an object or a function');
  if (d.dependencies !== undefined && !Array.isArray(d.dependencies)) throw new PluginLoadError(d.name, '"dependencies" must be a list of plugin names');
  return d;
}

/** Split "name@range" (scoped names keep their leading @). */
function parseDependency(dep: string): { name: string; range: string | null } {
  const at = dep.lastIndexOf('@');
  return at > 0 ? { name: dep.slice(0, at), range: dep.slice(at + 1) } : { name: dep, range: null };
}

/**
 * Load the `plugins:` list: import each, check names are unique and dependencies present
 * at a satisfying version, and order them dependencies-first (otherwise as listed).
 */
export async function loadPlugins(entries: (string | { name: string; config?: unknown })[] | undefined, baseDir: string, extra: PluginDefinition<unknown>[] = []): Promise<LoadedPlugin[]> {
  const list = entries ?? DEFAULT_PLUGINS;
  const loaded: LoadedPlugin[] = [];
  for (const e of list) {
    const spec = typeof e === 'string' ? e : e.name;
    let mod: unknown;
    try {
      mod = await importPlugin(spec, baseDir);
    } catch (err) {
      throw new PluginLoadError(spec, `cannot be loaded: ${(err as Error).message}`);
    }
    loaded.push({ def: check(mod, spec), rawConfig: typeof e === 'string' ? undefined : e.config, spec });
  }
  for (const d of extra) loaded.push({ def: check(d, d.name), rawConfig: undefined, spec: d.name });

  const byName = new Map<string, LoadedPlugin>();
  for (const p of loaded) {
    if (byName.has(p.def.name)) throw new PluginLoadError(p.def.name, `is listed twice (${byName.get(p.def.name)!.spec} and ${p.spec})`);
    byName.set(p.def.name, p);
  }
  for (const p of loaded) {
    for (const dep of p.def.dependencies ?? []) {
      const { name, range } = parseDependency(dep);
      const found = byName.get(name);
      if (!found) throw new PluginLoadError(p.def.name, `needs plugin "${name}", which is not in the plugins list`);
      if (range && !semver.satisfies(found.def.version, range)) {
        throw new PluginLoadError(p.def.name, `needs ${name}@${range} but ${name} is ${found.def.version}`);
      }
    }
  }

  // Dependencies first, stable otherwise; a cycle is an error naming the plugins in it.
  const ordered: LoadedPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: LoadedPlugin, path: string[]) => {
    const s = state.get(p.def.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new PluginLoadError(p.def.name, `dependency cycle: ${[...path, p.def.name].join(' -> ')}`);
    state.set(p.def.name, 'visiting');
    for (const dep of p.def.dependencies ?? []) visit(byName.get(parseDependency(dep).name)!, [...path, p.def.name]);
    state.set(p.def.name, 'done');
    ordered.push(p);
  };
  for (const p of loaded) visit(p, []);
  return ordered;
}
