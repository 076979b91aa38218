import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../core/config/load.js';
import { createLogger } from '../../core/log.js';
import { Gateway } from '../../core/server/gateway.js';
import { checkBind, isLoopbackHost } from '../../core/access/bind.js';

t.test('loopback hosts', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', 'LOCALHOST']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.com', '']) t.notOk(isLoopbackHost(h), h || '(empty)');
  t.match(checkBind('0.0.0.0', false, false), { ok: false, error: /refusing to listen on 0\.0\.0\.0 with no client keys/ });
  t.match(checkBind('0.0.0.0', false, true), { ok: true, warning: /INSECURE/ });
  t.match(checkBind('0.0.0.0', true, false), { ok: true, warning: null });
  t.match(checkBind('127.0.0.1', false, false), { ok: true, warning: /no client keys configured/ });
});

async function gateway(config: object, insecure?: boolean) {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c, _e, cb) { for (const l of String(c).split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } });
  const { config: cfg } = parseConfig(JSON.stringify({ providers: [{ id: 'p', kind: 'openai', base_url: 'http://127.0.0.1:9/v1' }], routes: [{ model: 'm', targets: [{ provider: 'p', model: 'x' }] }], plugins: [], ...config }), 'c.json');
  const gw = await Gateway.create({ config: cfg, logger: createLogger('info', sink), insecure });
  return { gw, logs };
}

t.test('without client keys a non-loopback host is refused unless insecure; with keys it is fine', async (t) => {
  const refused = await gateway({});
  await t.rejects(refused.gw.listen(0, '0.0.0.0'), { name: 'BindRefusedError', message: /refusing to listen on 0\.0\.0\.0 with no client keys configured.*--insecure/ });
  t.notOk(refused.gw.app.server.listening, 'nothing is listening');
  await refused.gw.close(0);

  const insecure = await gateway({}, true);
  await insecure.gw.listen(0, '0.0.0.0');
  t.ok(insecure.gw.app.server.listening);
  t.ok(insecure.logs.some((l) => l.level === 40 && /INSECURE/.test(String(l.msg))), 'a loud warning');
  await insecure.gw.close(0);

  const keyed = await gateway({ keys: [{ id: 'k', key: 'ck-0123456789abcdef' }] });
  await keyed.gw.listen(0, '0.0.0.0');
  t.ok(keyed.gw.app.server.listening);
  t.notOk(keyed.logs.some((l) => l.level === 40 && /client keys/.test(String(l.msg))), 'no warning with keys');
  await keyed.gw.close(0);
});

/** Run `switchyard start` (the TypeScript entry, with this test's loader) until it exits or prints `until`. */
function runCli(args: string[], until?: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    // Only the TypeScript loader: tap's process-info hooks would change how the child handles signals.
    const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
    const child = spawn(process.execPath, [...loader, resolve('core/cli/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let signalled = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`CLI did not finish: ${stderr}`)); }, 60_000);
    child.stderr.on('data', (c) => {
      stderr += c;
      if (until && !signalled && until.test(stderr)) {
        signalled = true; // once: a second SIGTERM would find no handler and kill outright
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); resolveRun({ code, stderr }); });
  });
}

t.test('switchyard start: --insecure is plumbed from the CLI', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bind-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ providers: [{ id: 'p', kind: 'openai', base_url: 'http://127.0.0.1:9/v1' }], routes: [{ model: 'm', targets: [{ provider: 'p', model: 'x' }] }], plugins: [] }));
  const base = ['start', '--config', file, '--port', '0', '--data-dir', join(dir, 'data')];

  const refused = await runCli([...base, '--host', '0.0.0.0']);
  t.equal(refused.code, 1, 'exits 1');
  t.match(refused.stderr, /switchyard: refusing to listen on 0\.0\.0\.0 with no client keys configured/);
  t.notMatch(refused.stderr, /at .*\.ts:\d+/, 'a message, not a stack trace');

  const allowed = await runCli([...base, '--host', '0.0.0.0', '--insecure'], /switchyard listening on/);
  t.match(allowed.stderr, /INSECURE: listening on 0\.0\.0\.0/);
  t.match(allowed.stderr, /switchyard listening on http:\/\/0\.0\.0\.0:\d+/);
  t.equal(allowed.code, 0, 'drained and exited on SIGTERM');
});
