import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, CLI } from './helpers.js';
import { cliRun as cli, onlyJson, publishSetup as setup, type Run } from './cli-helpers.js';

/** stdout's one JSON object, or null (a failed match then, not a throw). */
const jsonOf = (stdout: string): unknown => {
  try {
    return stdout.trim().includes('\n') ? null : JSON.parse(stdout);
  } catch {
    return null;
  }
};

/** The built CLI with the admin token, without SWITCHYARD_URL / _DATA_DIR and without the `unset` variables. */
const cliWithout = (unset: string[], ...args: string[]): Promise<Run> => {
  const env: Record<string, string | undefined> = { ...process.env, SWITCHYARD_ADMIN_TOKEN: ADMIN };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_DATA_DIR', ...unset]) delete env[k];
  return promisify(execFile)(process.execPath, [CLI, ...args], { env }).then((r) => ({ code: 0, ...r }), (e: Run) => e);
};

t.test('policy publish --url runs the admin dry-run first (requests just served included)', async (t) => {
  const { gw, broken, good, traffic } = await setup(t);
  await traffic(4);
  const refused = await cli('policy', 'publish', broken, '--url', gw.url, '--require-dry-run-clean');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /dry-run on 4 captures from the last 24h: .*4 errors, 0 timeouts/);
  t.match(refused.stderr, /refusing to publish/);
  const list = await (await fetch(`${gw.url}/admin/api/policies`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { active: string | null };
  t.equal(list.active, null, 'nothing was published');

  const clean = await cli('policy', 'publish', good, '--url', gw.url, '--require-dry-run-clean', '--json');
  t.equal(clean.code, 0);
  t.match(clean.stderr, /dry-run on 4 captures from the last 24h: 4 decisions change \(100\.0%\).*0 errors, 0 timeouts/);
  t.match(JSON.parse(clean.stdout), { changed: true });
});

t.test('config publish --url sends the source unexpanded: the gateway expands ${ENV} with its environment and validates', async (t) => {
  const { dir, gw } = await setup(t);
  const VAR = 'SY_TEST_GATEWAY_ONLY_KEY';
  const saved = process.env[VAR];
  // The gateway runs in this process and expands with its process.env; the CLI child is run without VAR.
  process.env[VAR] = 'sk-set-only-where-the-gateway-runs';
  t.teardown(() => { if (saved === undefined) delete process.env[VAR]; else process.env[VAR] = saved; });
  const upstream = gw.gw.config.providers[0]!.base_url;
  const cfg = (key: string) => `providers:\n  - { id: a, kind: openai, base_url: "${upstream}", api_key: \${${key}} }\nroutes:\n  - { model: m, targets: [{ provider: a, model: x }] }\nadmin: { token: ${ADMIN} }\n`;
  const good = join(dir, 'gateway-env.yaml');
  writeFileSync(good, cfg(VAR));
  const nobody = join(dir, 'nobody-env.yaml');
  writeFileSync(nobody, cfg('SY_TEST_NOBODY_HAS_THIS'));
  const active = async () => ((await (await fetch(`${gw.url}/admin/api/config`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { active: string | null }).active;

  const remote = await cliWithout([VAR], 'config', 'publish', good, '--url', gw.url, '--json');
  t.equal(remote.code, 0, `a variable only the gateway has: published (${remote.stderr.trim()})`);
  const r = onlyJson(t, remote.stdout);
  t.match(r, { id: String, changed: true });
  t.equal(await active(), r.id, 'the gateway made it active');

  // On the data dir the CLI is the one that expands: its own environment decides.
  const local = await cliWithout([VAR], 'config', 'publish', good, '--data-dir', join(dir, 'local'), '--json');
  t.equal(local.code, 1, '--data-dir: checked with the CLI environment, where it is unset');
  t.match(jsonOf(local.stdout), { ok: false, error: { message: new RegExp(`environment variable ${VAR} is not set`), status: 422 } });

  // Set nowhere: the gateway's refusal reaches the user, on stderr and as the --json object.
  const refused = await cliWithout([VAR], 'config', 'publish', nobody, '--url', gw.url, '--json');
  t.equal(refused.code, 1);
  t.match(jsonOf(refused.stdout), { ok: false, error: { message: /providers\[0\]\.api_key: environment variable SY_TEST_NOBODY_HAS_THIS is not set/, code: 'SY_ERR_INVALID_REQUEST', kind: 'admin_api', status: 422 } });
  t.match(refused.stderr, /^switchyard: invalid config .*nobody-env\.yaml:\n\s+providers\[0\]\.api_key: environment variable SY_TEST_NOBODY_HAS_THIS is not set/);
  t.notMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  t.equal(await active(), r.id, 'the refused config did not become active');
});
