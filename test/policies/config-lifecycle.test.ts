import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadConfigFile } from '../../core/config/load.js';
import { createLogger } from '../../core/log.js';
import { Gateway } from '../../core/server/gateway.js';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';

const run = promisify(execFile);
const ADMIN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

const configFor = (url: string, model: string) => `# gateway
server: { host: 127.0.0.1, port: 0 }
admin: { token: ${ADMIN} }
providers:
  - { id: up, kind: openai, base_url: "${url}", api_key: sk-literal-secret-123456 }
routes:
  - model: m
    targets: [{ provider: up, model: ${model} }]
`;

async function waitFor(fn: () => Promise<boolean>, ms = 3000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}

t.test('config revisions: publish and roll back a whole config live, with an audit trail', async (t) => {
  const a = await startFakeUpstream(ok());
  t.teardown(() => a.close());
  const dir = mkdtempSync(join(tmpdir(), 'sy-config-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, configFor(a.url, 'first-model'));
  const dataDir = join(dir, 'data');
  const loaded = await loadConfigFile(file);
  const gw = await Gateway.create({ config: loaded.config, logger: createLogger('silent'), dataDir, configFile: file, baseDir: dir });
  const url = await gw.listen(0, '127.0.0.1');
  t.teardown(() => gw.close(1000));
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
  const servedModel = async () => (await client.chat.completions.create({ model: 'm', messages: [] }).withResponse()).response.headers.get('x-switchyard-model');
  t.equal(await servedModel(), 'first-model');

  const history = await (await fetch(`${url}/admin/api/config`, { headers: auth })).json() as { active: string; revisions: { id: string }[] };
  t.equal(history.revisions.length, 1, 'the start-up file became the first config revision');
  const shown = await (await fetch(`${url}/admin/api/config/revisions/${history.active}`, { headers: auth })).json() as { source: string };
  t.notMatch(shown.source, /sk-literal-secret/, 'literal secrets are redacted in the admin API');
  t.match(shown.source, /api_key: \[redacted\]/);

  const bad = await fetch(`${url}/admin/api/config/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: 'providers: []\nroutes: []\n' }) });
  t.equal(bad.status, 422, 'an invalid config is refused whole');
  t.equal(await servedModel(), 'first-model', 'and the running config stays');

  const pub = await fetch(`${url}/admin/api/config/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: configFor(a.url, 'second-model'), note: 'new model' }) });
  t.equal(pub.status, 200);
  t.ok((await waitFor(async () => (await servedModel()) === 'second-model')) >= 0, 'served within 2 s, no restart');

  await run(process.execPath, ['dist/core/cli/main.js', 'config', 'rollback', '--data-dir', dataDir, '--note', 'revert']);
  t.ok((await waitFor(async () => (await servedModel()) === 'first-model')) >= 0, 'CLI rollback on the data dir applies live');

  const audit = await (await fetch(`${url}/admin/api/audit?scope=config`, { headers: auth })).json() as { data: { action: string; note: string | null }[] };
  t.match(audit.data.map((x) => x.action), ['rollback', 'publish', 'publish']);
  const diff = await (await fetch(`${url}/admin/api/config/diff?a=${history.active}&b=${(await pub.json() as { id: string }).id}`, { headers: auth })).json() as { diff: string };
  t.match(diff.diff, /-.*first-model[\s\S]*\+.*second-model/);
});
