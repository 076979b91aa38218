import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, CLI } from './helpers.js';
import { publishSetup } from './cli-helpers.js';

/**
 * DESIGN.md: `--json` prints exactly one JSON object on stdout, also when the command fails:
 * `{ ok: false, error: { message, code, kind, status? } }`, the message also on stderr, exit 1.
 * (Also pinned: config check, config publish --data-dir, config rollback --url and policy rollback
 * --data-dir in test/policies/review-cli-errors.test.ts; dry-run --data-dir in cli-dry-run.test.ts.)
 */

const exec = promisify(execFile);
const WRONG = 'not-the-admin-token-at-all-0123456789';
type Run = { code: number; stdout: string; stderr: string };

/** The built CLI with the admin token (or `env`'s), without SWITCHYARD_URL / _DATA_DIR and any `unset` names. */
function cli(args: string[], env: Record<string, string> = {}, unset: string[] = []): Promise<Run> {
  const e: Record<string, string | undefined> = { ...process.env, SWITCHYARD_ADMIN_TOKEN: ADMIN, ...env };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_DATA_DIR', ...unset]) delete e[k];
  return exec(process.execPath, [CLI, ...args], { env: e }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

/** The one JSON object on stdout, or null (after a failed assertion, so every case reports). */
function oneObject(t: Test, what: string, stdout: string): Record<string, unknown> | null {
  const lines = stdout.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `${what}: one line on stdout`);
  try {
    const obj: unknown = JSON.parse(lines[0] ?? '');
    t.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${what}: a JSON object`);
    return obj as Record<string, unknown>;
  } catch {
    t.fail(`${what}: stdout is not JSON`);
    return null;
  }
}

/** A failed --json run: exit 1, one `{ ok: false, error }` object on stdout, the message on stderr, no secret anywhere. */
function failed(t: Test, what: string, r: Run, why: RegExp, error: Record<string, unknown>, o: { stack?: boolean } = {}) {
  t.equal(r.code, 1, `${what}: exit 1`);
  const obj = oneObject(t, what, r.stdout);
  t.match(obj, { ok: false, error: { message: why, ...error } }, `${what}: the error object`);
  t.same(Object.keys(obj ?? {}), ['ok', 'error'], `${what}: nothing else`);
  t.match(r.stderr, why, `${what}: the message on stderr too`);
  if (!o.stack) t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  for (const secret of [ADMIN, WRONG]) t.notOk(r.stdout.includes(secret) || r.stderr.includes(secret), `${what}: no admin token in the output`);
}

t.test('every --json command family prints one { ok: false, error } object when it fails, locally and through --url', async (t) => {
  const { dir, dataDir, gw, broken, traffic } = await publishSetup(t);
  const url = gw.url;
  const badConfig = join(dir, 'bad.yaml');
  writeFileSync(badConfig, `providers:\n  - { id: up, kind: openai, base_url: "http://127.0.0.1:9" }\nroutes:\n  - { model: m, targets: [{ provider: nope, model: x }] }\n`);
  const typo = join(dir, 'typo.ts');
  writeFileSync(typo, `import { definePolicy } from 'switchyard/sdk';\nexport default definePolicy({ name: 't', selectProvider: ({ candidates }) => ({ order: candidates.map((c) => c.idd) }) });\n`);
  const badJsonl = join(dir, 'bad.jsonl');
  writeFileSync(badJsonl, '{"not":"a capture"}\n');
  let n = 0;
  const empty = () => join(dir, `empty-${++n}`); // one each: no two CLIs migrating one new SQLite file at once
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a directory');
  const wrong = { SWITCHYARD_ADMIN_TOKEN: WRONG };
  const unauthorized = { code: 'SY_ERR_UNAUTHORIZED', kind: 'admin_api', status: 401 };
  const notFound = { code: 'SY_ERR_NOT_FOUND', status: 404 };
  await traffic(2);
  await gw.gw.capture!.writer.flush(); // on disk for the data-dir publish guard

  const runs = await Promise.all([
    // config
    cli(['config', 'publish', badConfig, '--url', url, '--json'], wrong),
    cli(['config', 'rollback', '--data-dir', empty(), '--json']),
    cli(['config', 'history', '--data-dir', aFile, '--json']),
    cli(['config', 'history', '--url', url, '--json'], wrong),
    cli(['config', 'diff', 'aaaaaa', 'bbbbbb', '--data-dir', empty(), '--json']),
    cli(['config', 'diff', 'aaaaaa', 'bbbbbb', '--url', url, '--json'], wrong),
    // policy
    cli(['policy', 'check', typo, '--json']),
    cli(['policy', 'publish', broken, '--data-dir', dataDir, '--require-dry-run-clean', '--json']),
    cli(['policy', 'publish', broken, '--url', url, '--json'], wrong),
    cli(['policy', 'rollback', '--url', url, '--json'], wrong),
    cli(['policy', 'history', '--data-dir', aFile, '--json']),
    cli(['policy', 'history', '--url', url, '--json'], wrong),
    cli(['policy', 'diff', 'aaaaaa', 'bbbbbb', '--data-dir', empty(), '--json']),
    cli(['policy', 'diff', 'aaaaaa', 'bbbbbb', '--url', url, '--json'], wrong),
    cli(['policy', 'dry-run', 'active', '--url', url, '--json'], wrong),
    // captures
    cli(['captures', 'import', badJsonl, '--data-dir', empty(), '--json']),
    // a usage error (commander's), before any action ran
    cli(['policy', 'publish', '--json']),
    cli(['config', 'publish', badConfig, '--url', url, '--json'], {}, ['SWITCHYARD_ADMIN_TOKEN']),
  ]);
  const [cPubR, cRbL, cHistL, cHistR, cDiffL, cDiffW, pCheck, pGuard, pPubR, pRbR, pHistL, pHistR, pDiffL, pDiffR, pDryR, impBad, usage, noToken] = runs;

  failed(t, 'config publish --url (wrong token)', cPubR, /invalid admin token/, unauthorized);
  failed(t, 'config rollback --data-dir', cRbL, /no active config revision to roll back from/, { code: 'SY_ERR_INVALID_REQUEST', kind: 'revision', status: 409 });
  // Not an operator error (its stack stays on stderr, as before): the errno code reaches the object.
  failed(t, 'config history --data-dir (a file)', cHistL, /EEXIST/, { code: 'EEXIST', kind: 'io' }, { stack: true });
  failed(t, 'config history --url (wrong token)', cHistR, /invalid admin token/, unauthorized);
  failed(t, 'config diff --data-dir', cDiffL, /no config revision aaaaaa/, { ...notFound, kind: 'revision' });
  failed(t, 'config diff --url (wrong token)', cDiffW, /invalid admin token/, unauthorized);

  t.equal(pCheck.code, 1, 'policy check: exit 1');
  const checked = oneObject(t, 'policy check', pCheck.stdout);
  t.match(checked, { ok: false, file: typo, problems: [/typo\.ts:2:\d+ /], error: { message: /does not compile/, code: 'SY_ERR_INVALID_REQUEST', kind: 'revision', status: 422 } }, 'policy check: the diagnostics, and the error object');
  failed(t, 'policy publish --require-dry-run-clean (refused)', pGuard, /refusing to publish \(--require-dry-run-clean\)/, { code: 'SY_ERR_INVALID_REQUEST', kind: 'dry_run', status: 409 });
  t.match(oneObject(t, 'the refusal', pGuard.stdout), { error: { message: /broken\.ts errors on 2 and times out on 0 of 2 captures/ } }, 'the refusal says why');
  failed(t, 'policy publish --url (wrong token)', pPubR, /invalid admin token/, unauthorized);
  failed(t, 'policy rollback --url (wrong token)', pRbR, /invalid admin token/, unauthorized);
  failed(t, 'policy history --data-dir (a file)', pHistL, /EEXIST/, { code: 'EEXIST', kind: 'io' }, { stack: true });
  failed(t, 'policy history --url (wrong token)', pHistR, /invalid admin token/, unauthorized);
  failed(t, 'policy diff --data-dir', pDiffL, /no policy revision aaaaaa/, { ...notFound, kind: 'revision' });
  failed(t, 'policy diff --url (wrong token)', pDiffR, /invalid admin token/, unauthorized);
  failed(t, 'policy dry-run --url (wrong token)', pDryR, /invalid admin token/, unauthorized);

  failed(t, 'captures import (not a capture)', impBad, /bad\.jsonl:1: not a capture/, { code: 'SY_ERR_INVALID_REQUEST', kind: 'dry_run' });

  failed(t, 'a usage error', usage, /missing required argument 'file'/, { code: 'commander.missingArgument', kind: 'usage' });
  failed(t, '--url without a token', noToken, /--url needs SWITCHYARD_ADMIN_TOKEN/, { code: 'SY_ERR_INVALID_REQUEST', kind: 'usage' });

  // Without --json a failure prints nothing on stdout, as before.
  const human = await cli(['config', 'rollback', '--url', url], wrong);
  t.equal(human.code, 1);
  t.equal(human.stdout, '', 'no --json: stdout empty');
  t.match(human.stderr, /^switchyard: invalid admin token/);
});
