import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

/**
 * An operator's mistake (an invalid config, an unknown revision, a refused admin token) is a
 * message on stderr and exit 1, not a stack trace; with --json stdout holds exactly one JSON
 * object, on failure `{ ok: false, error: { message, code, ... } }` (every family:
 * test/replay/cli-json-failure.test.ts). (Runs the CLI from source, through tap's TypeScript
 * loader: dist/ is not rebuilt here.)
 */

const ADMIN = 'admin-token-0123456789abcdef';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', '@tapjs/typescript/import', 'core/cli/main.ts', ...args], { env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', SWITCHYARD_URL: '', ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

t.test('failing commands say why on stderr without a stack trace, and with --json print one { ok: false, error } object on stdout', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({ providers: [{ id: 'up', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'up', model: 'x' }] }], admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const dir = mkdtempSync(join(tmpdir(), 'sy-review-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `providers:\n  - { id: up, kind: openai, base_url: "${up.url}" }\nroutes:\n  - { model: m, targets: [{ provider: nope, model: x }] }\n`);
  const dataDir = join(dir, 'data');

  const [check, publish, rollback, remote] = await Promise.all([
    cli(['config', 'check', bad, '--json']),
    cli(['config', 'publish', bad, '--data-dir', dataDir, '--json']),
    cli(['policy', 'rollback', 'deadbeef00', '--data-dir', join(dir, 'data2'), '--json']),
    cli(['config', 'rollback', '--url', gw.url, '--json'], { SWITCHYARD_ADMIN_TOKEN: 'not-the-admin-token-at-all' }),
  ]);
  const cases = [
    ['config check', check, /unknown provider "nope"/],
    ['config publish', publish, /unknown provider "nope"/],
    ['policy rollback', rollback, /no policy revision deadbeef00/],
    ['config rollback --url (wrong token)', remote, /invalid admin token/],
  ] as const;
  for (const [what, r, why] of cases) {
    t.equal(r.code, 1, `${what}: exit 1`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    t.equal(lines.length, 1, `${what}: one line on stdout`);
    t.match(JSON.parse(lines[0] ?? 'null'), { ok: false, error: { message: why, code: String } }, `${what}: the JSON failure object, with the message`);
    t.match(r.stderr, why, `${what}: stderr says why`);
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    t.notMatch(r.stderr, /RevisionError|Error:/, `${what}: no error class name`);
  }
});
