/** What the replay CLI tests share: the CLI runners, the gateways they run against, --json checks. */
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, ok, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { ADMIN, CLI, preferB, throwing } from './helpers.js';

const exec = promisify(execFile);
const env: Record<string, string | undefined> = { ...process.env, SWITCHYARD_ADMIN_TOKEN: ADMIN };
delete env.SWITCHYARD_URL;
delete env.SWITCHYARD_DATA_DIR;

/** Run the CLI; rejects on a non-zero exit. */
export const cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { env, maxBuffer: 64 * 1024 * 1024 });

export type Run = { code?: number; stdout: string; stderr: string };
/** Run the CLI; resolves with the exit code either way. */
export const cliRun = (...args: string[]): Promise<Run> => exec(process.execPath, [CLI, ...args], { env }).then((r) => ({ code: 0, ...r }), (e: Run) => e);

/** A gateway over fake upstreams a and b (priced), with six requests captured on `dataDir`. */
export async function capturingGateway(t: Test, dataDir: string) {
  const ups: FakeUpstream[] = [];
  for (const name of ['a', 'b']) ups.push(await startFakeUpstream(ok(`from ${name}`)));
  const gw = await startGateway({
    providers: ups.map((u, i) => ({ id: 'ab'[i], kind: 'openai', base_url: u.url })),
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x', price: { input: 1, output: 2 } }, { provider: 'b', model: 'y', price: { input: 3, output: 4 } }] }],
    admin: { token: ADMIN },
  }, { dataDir });
  t.teardown(async () => { await gw.close(); for (const u of ups) await u.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  for (let i = 0; i < 6; i++) await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 10 + i });
  return { gw, ups };
}

/** A gateway for the publish guard: a good and a throwing policy file, and a traffic maker. */
export async function publishSetup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-replay-pub-'));
  const dataDir = join(dir, 'data');
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  const gw = await startGateway({
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'y' }] }],
    admin: { token: ADMIN },
  }, { dataDir });
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); });
  const broken = join(dir, 'broken.ts');
  const good = join(dir, 'prefer-b.ts');
  writeFileSync(broken, throwing);
  writeFileSync(good, preferB);
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  const traffic = async (n: number) => {
    for (let i = 0; i < n; i++) await client.chat.completions.create({ model: 'm', messages: [] });
  };
  return { dir, dataDir, gw, broken, good, traffic };
}

/** The single JSON object a --json command printed, after checking it is exactly that. */
export function onlyJson(t: Test, stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  t.equal(lines.length, 1, 'one line on stdout');
  const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.ok(obj && typeof obj === 'object' && !Array.isArray(obj), 'a JSON object');
  return obj;
}

export const noTiming = (r: Record<string, unknown>) => ({ ...r, decision_us: null });
