import t from 'tap';
import OpenAI from 'openai';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

/** A package in `app/node_modules` that, like many modern ones, is ESM-only: `exports` has only `import`. */
function esmOnlyPackage(app: string, name: string, exportsField: unknown, files: Record<string, string>): void {
  const dir = join(app, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: exportsField }));
  for (const [f, src] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), src);
  }
}

const pluginSource = (name: string) => `export default {
  name: '${name}', version: '1.0.0',
  hooks: { preRoute(ctx) { ctx.responseHeaders['x-loaded-by'] = '${name}'; } },
};\n`;

t.test('an ESM-only community plugin package loads by name from the config folder', async (t) => {
  const up = await startFakeUpstream(ok('served'));
  const app = mkdtempSync(join(tmpdir(), 'sy-esm-plugin-'));
  t.teardown(async () => { await up.close(); rmSync(app, { recursive: true, force: true }); });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  esmOnlyPackage(app, 'switchyard-plugin-esm', { '.': { types: './dist/index.d.ts', import: './dist/index.js' } }, { 'dist/index.js': pluginSource('esm') });
  esmOnlyPackage(app, '@acme/switchyard-plugins', { './tagger': { import: './tagger.js' } }, { 'tagger.js': pluginSource('tagger') });

  const gw = await startGateway({ ...routeOver([up.url]), plugins: ['switchyard-plugin-esm', '@acme/switchyard-plugins/tagger'] }, { baseDir: join(app) });
  t.teardown(() => gw.close());
  t.same(gw.gw.plugins.map((p) => p.name), ['esm', 'tagger']);
  const r = await new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).withResponse();
  t.equal(r.data.choices[0].message.content, 'served');
  t.equal(r.response.headers.get('x-loaded-by'), 'tagger', 'its hooks run');
});

t.test('a package that is not installed is still a clear load error', async (t) => {
  const up = await startFakeUpstream(ok());
  const app = mkdtempSync(join(tmpdir(), 'sy-esm-plugin-'));
  t.teardown(async () => { await up.close(); rmSync(app, { recursive: true, force: true }); });
  const err = await startGateway({ ...routeOver([up.url]), plugins: ['switchyard-plugin-absent'] }, { baseDir: app }).then(async (g) => { await g.close(); return null; }, (e: Error) => e);
  t.match(err?.message, /plugin switchyard-plugin-absent: cannot be loaded/);
});
