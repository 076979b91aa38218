/**
 * The arms of the benchmark, as data: each knows how to start its server (its own process,
 * pinned to the server CPUs) and answers {url, pid, stop()}. An arm whose feature is not in
 * the gateway yet throws Unavailable with the reason; it lights up once the feature lands.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';
import { freePort, spawnNode, waitReady, type Child, type Pinning } from './proc.js';

/** The project root (this file runs from dist/bench/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_BENCH = dirname(fileURLToPath(import.meta.url));

export interface ArmContext {
  pin: Pinning;
  /** Origin of the shared fake upstream, e.g. http://127.0.0.1:40123 */
  upstream: string;
  upstreamPid: number;
  /** Scratch dir for configs, data dirs and server logs. */
  tmp: string;
}

export interface Started {
  /** Origin the load generator talks to. */
  url: string;
  /** The server process measured for RSS (null: none). */
  pid: number | null;
  /** Extra request headers (Portkey's routing headers). */
  headers?: Record<string, string>;
  /** What was started and how, for the report. */
  note?: string;
  stop(): Promise<void>;
}

export interface Arm {
  name: string;
  label: string;
  start(ctx: ArmContext): Promise<Started>;
}

export class Unavailable extends Error {}

const CHAT = '/v1/chat/completions';

async function startChild(ctx: ArmContext, name: string, args: string[], readyPath: string, env?: NodeJS.ProcessEnv): Promise<{ child: Child; url: string; port: number }> {
  const port = await freePort();
  const child = spawnNode(args.map((a) => a.replaceAll('{PORT}', String(port))), { pin: ctx.pin, logFile: join(ctx.tmp, `${name}.log`), env, cwd: ROOT });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, url + readyPath);
  } catch (err) {
    await child.stop();
    throw new Unavailable((err as Error).message);
  }
  return { child, url, port };
}

// ---------------------------------------------------------------- Switchyard

const BUILTIN_PLUGINS = ['health', 'cooldown', 'cost', 'telemetry'];

/** Two providers on the same fake upstream so a policy has an order to change. */
function switchyardConfig(ctx: ArmContext, port: number, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port },
    providers: [
      { id: 'up-a', kind: 'openai', base_url: `${ctx.upstream}/v1`, api_key: 'sk-bench-not-a-secret' },
      { id: 'up-b', kind: 'openai', base_url: `${ctx.upstream}/v1`, api_key: 'sk-bench-not-a-secret' },
    ],
    routes: [
      {
        model: 'bench',
        targets: [
          { provider: 'up-a', model: 'fake-model', price: { input: 0.15, output: 0.6 }, context_window: 128000 },
          { provider: 'up-b', model: 'fake-model', price: { input: 0.15, output: 0.6 }, context_window: 128000 },
        ],
      },
    ],
    ...extra,
  };
}

/** A policy that reverses the route order: served by up-b with route mode `policy` when it is active. */
const REVERSE_POLICY = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'bench-reverse',
  selectProvider({ candidates }) {
    return { order: candidates.map((c) => c.id).reverse(), reason: 'bench: reversed route order' };
  },
});
`;

async function startSwitchyard(ctx: ArmContext, name: string, extra: Record<string, unknown>): Promise<Started & { dataDir: string }> {
  const main = join(ROOT, 'dist/core/cli/main.js');
  if (!existsSync(main)) throw new Unavailable(`${main} missing (build first: npx tsc -p .)`);
  const port = await freePort();
  const dataDir = join(ctx.tmp, `${name}.data`);
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(ctx.tmp, `${name}.config.json`);
  writeFileSync(configFile, JSON.stringify(switchyardConfig(ctx, port, extra), null, 2));
  const child = spawnNode([main, 'start', '--config', configFile, '--port', String(port), '--data-dir', dataDir], { pin: ctx.pin, logFile: join(ctx.tmp, `${name}.log`), cwd: ROOT });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, url + '/readyz');
  } catch (err) {
    await child.stop();
    throw new Unavailable(`gateway refused to start: ${(err as Error).message}`);
  }
  return { url, pid: child.pid, dataDir, note: `node dist/core/cli/main.js start --config ${configFile}`, stop: () => child.stop() };
}

/**
 * The schema accepts `plugins:` before the loader exists, so starting with the built-ins proves
 * nothing by itself. Negative control: a gateway that loads plugins must refuse a plugin that
 * does not exist. Memoised: one extra boot per run.
 */
let loaderVerdict: Promise<string | null> | null = null;
function pluginLoaderMissing(ctx: ArmContext): Promise<string | null> {
  loaderVerdict ??= (async () => {
    try {
      const s = await startSwitchyard(ctx, 'switchyard-plugin-check', { plugins: ['bench-no-such-plugin'], capture: { enabled: false } });
      await s.stop();
      return 'the gateway ignores `plugins:` (it started with a plugin named "bench-no-such-plugin")';
    } catch {
      return null; // refused: plugins are really loaded
    }
  })();
  return loaderVerdict;
}

async function probe(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const r = await request(url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'probe' }] }), headersTimeout: 5000, bodyTimeout: 5000 });
  await r.body.dump();
  return { status: r.statusCode, headers: r.headers };
}

/**
 * Capture is proven through its public surface: after a few requests, `switchyard captures
 * export` on the gateway's data dir must print at least one capture (batched writes get a
 * bounded moment to flush). Until that command and the recording exist, the arm is unavailable.
 */
async function capturePresent(dataDir: string, url: string): Promise<string | null> {
  for (let i = 0; i < 3; i++) await probe(url);
  let last = '';
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 750));
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/core/cli/main.js'), 'captures', 'export', '--data-dir', dataDir], { encoding: 'utf8', timeout: 15_000, cwd: ROOT });
    const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim().startsWith('{'));
    if (r.status === 0 && lines.length > 0) return null;
    last = r.status === 0 ? 'printed no captures' : `failed (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n')[0].slice(0, 200)}`;
  }
  return `capture not active: after requests, \`switchyard captures export --data-dir DIR\` ${last}`;
}

function switchyardArm(name: string, label: string, features: { plugins: boolean; capture: boolean; policy: boolean }): Arm {
  return {
    name,
    label,
    async start(ctx) {
      const extra: Record<string, unknown> = {
        plugins: features.plugins ? BUILTIN_PLUGINS : [],
        capture: { enabled: features.capture },
      };
      if (features.policy) {
        const policyFile = join(ctx.tmp, 'bench-reverse.policy.ts');
        writeFileSync(policyFile, REVERSE_POLICY);
        extra.policy = policyFile;
      }
      if (features.plugins) {
        const missing = await pluginLoaderMissing(ctx);
        if (missing) throw new Unavailable(missing);
      }
      const s = await startSwitchyard(ctx, name, extra);
      // Every missing feature is named, not just the first.
      const missing: string[] = [];
      if (features.policy) {
        const p = await probe(s.url);
        const mode = p.headers['x-switchyard-route-mode'];
        if (p.status !== 200 || mode !== 'policy') missing.push(`policy not active: config accepted, but a request came back with status ${p.status}, x-switchyard-route-mode: ${String(mode)} (expected "policy")`);
      }
      if (features.capture) {
        const why = await capturePresent(s.dataDir, s.url);
        if (why) missing.push(why);
      }
      if (missing.length) {
        await s.stop();
        throw new Unavailable(missing.join('; '));
      }
      return s;
    },
  };
}

// ---------------------------------------------------------------- the arms

export const ARMS: Arm[] = [
  {
    name: 'direct',
    label: 'direct to fake upstream',
    async start(ctx) {
      return { url: ctx.upstream, pid: ctx.upstreamPid, note: 'the fake upstream itself (RSS is the upstream\u2019s)', stop: async () => {} };
    },
  },
  {
    name: 'floor',
    label: 'floor: fastify+undici',
    async start(ctx) {
      const { child, url } = await startChild(ctx, 'floor', [join(DIST_BENCH, 'floor.js'), '--port', '{PORT}', '--upstream', ctx.upstream], '/healthz');
      return { url, pid: child.pid, note: 'node dist/bench/floor.js', stop: () => child.stop() };
    },
  },
  switchyardArm('switchyard-routing', 'Switchyard routing only', { plugins: false, capture: false, policy: false }),
  switchyardArm('switchyard-plugins', 'Switchyard 4 plugins', { plugins: true, capture: false, policy: false }),
  switchyardArm('switchyard-capture', 'Switchyard 4 plugins+capture', { plugins: true, capture: true, policy: false }),
  switchyardArm('switchyard-full', 'Switchyard full (+policy)', { plugins: true, capture: true, policy: true }),
  {
    name: 'portkey',
    label: 'Portkey gateway 1.15.2',
    async start(ctx) {
      const bin = join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js');
      if (!existsSync(bin)) throw new Unavailable(`${bin} not installed`);
      const preload = pathToFileURL(join(DIST_BENCH, 'loopback.js')).href;
      const { child, url } = await startChild(ctx, 'portkey', ['--import', preload, bin, '--port={PORT}', '--headless'], '/');
      return {
        url,
        pid: child.pid,
        headers: { authorization: 'Bearer sk-bench-not-a-secret', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${ctx.upstream}/v1` },
        note: 'node --import dist/bench/loopback.js node_modules/@portkey-ai/gateway/build/start-server.js --port=N --headless; routed with x-portkey-provider: openai + x-portkey-custom-host',
        stop: () => child.stop(),
      };
    },
  },
];
