import t from 'tap';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, stream, ok } from '../helpers/fake-upstream.js';
import { startGateway, routeOver } from '../helpers/gateway.js';

t.test('close() lets an in-flight stream finish, refuses new work, then resolves', async (t) => {
  const a = await startFakeUpstream(stream(['a', 'b', 'c', 'd'], { delayMs: 100 }));
  const gw = await startGateway(routeOver([a.url]));
  t.teardown(() => a.close());
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
  const textP = res.text();
  await new Promise((r) => setTimeout(r, 150));
  const closed = gw.gw.close(5000);
  await new Promise((r) => setTimeout(r, 20));
  const refused = await fetch(`${gw.url}/healthz`).then((r) => r.status, () => 'refused');
  t.not(refused, 200, 'no new requests once draining');
  const text = await textP;
  t.match(text, /"content":"d"/);
  t.match(text, /data: \[DONE\]\n\n$/, 'the in-flight stream finished whole');
  await closed;
});

t.test('switchyard start drains on SIGTERM and exits 0', async (t) => {
  const a = await startFakeUpstream(ok('slow answer'));
  a.fallback = async (s, res) => {
    await new Promise((r) => setTimeout(r, 400));
    return ok('slow answer')(s, res, undefined as never);
  };
  t.teardown(() => a.close());
  const dir = mkdtempSync(join(tmpdir(), 'sy-drain-'));
  const cfg = join(dir, 'switchyard.yaml');
  writeFileSync(cfg, `providers: [{ id: a, kind: openai, base_url: "${a.url}" }]\nroutes: [{ model: m, targets: [{ provider: a, model: x }] }]\n`);
  const child = spawn(process.execPath, ['dist/core/cli/main.js', 'start', '--config', cfg, '--port', '0', '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (c) => {
      err += c;
      const m = /switchyard listening on (http:\/\/[0-9.:]+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  const inflight = fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
  while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGTERM');
  const res = await inflight;
  t.equal(res.status, 200, 'the request accepted before SIGTERM was answered');
  t.match(await res.json(), { choices: [{ message: { content: 'slow answer' } }] });
  const code = await new Promise((r) => child.on('exit', r));
  t.equal(code, 0);
  t.match(err, /draining/);
  // Log lines are written in batches: the ones queued at exit are written too, in order.
  const lines = err.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; status?: number });
  t.match(lines.find((l) => l.msg === 'request'), { status: 200 }, "the drained request's log line");
  t.equal(lines[lines.length - 1].msg, 'stopped', 'the last line is the last thing logged');
});

/** Raw HTTP/1.1 on one kept-alive socket: the only way a request reaches a draining gateway. */
function socketTo(url: string): { write: (s: string) => void; text: () => string; ended: Promise<void> } {
  const u = new URL(url);
  const sock = connect(Number(u.port), u.hostname);
  let data = '';
  sock.setEncoding('utf8').on('data', (c: string) => (data += c));
  const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  return { write: (s) => sock.write(s), text: () => data, ended };
}

const post = (path: string, body: unknown, extra = '') => {
  const b = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n${extra}\r\n${b}`;
};

for (const [path, body, shape] of [
  ['/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { error: { code: 'SY_ERR_SHUTTING_DOWN', type: String } }],
  ['/v1/messages', { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }, { type: 'error', error: { type: String, message: /shutting down/ } }],
] as const) {
  t.test(`${path} reaching a draining gateway: 503 in its protocol, with x-request-id and Retry-After`, async (t) => {
    const a = await startFakeUpstream(stream(['a', 'b', 'c'], { delayMs: 100 }));
    const gw = await startGateway(routeOver([a.url]));
    t.teardown(() => a.close());
    const s = socketTo(gw.url);
    // The in-flight stream keeps this connection open while the gateway drains.
    s.write(post('/v1/chat/completions', { model: 'm', stream: true, messages: [] }));
    while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = gw.gw.close(5000);
    s.write(post(path, body, 'x-request-id: drain-check-1\r\n'));
    await s.ended;
    await closed;
    const second = s.text().split(/(?=HTTP\/1\.1 )/)[1] ?? '';
    t.match(second, /^HTTP\/1\.1 503 /, 'refused with 503');
    t.match(second, /\r\nx-request-id: drain-check-1\r\n/i, 'carries the request id');
    t.match(second, /\r\nretry-after: \d+\r\n/i, 'carries Retry-After');
    t.match(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)), shape, 'the error in the protocol\'s shape');
  });
}
