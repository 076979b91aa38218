import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { parseConfig, ConfigError } from '../../core/config/load.js';
import { classifyIp } from '../../core/network/ip.js';
import { baseUrlProblem } from '../../core/network/ssrf.js';
import { guardedConnect, type Lookup } from '../../core/network/connect.js';
import { startFakeUpstream, ok, chatCompletion, type Behaviour } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { chat, post } from '../helpers/security.js';

t.test('address classification', async (t) => {
  const cases: [string, string][] = [
    ['8.8.8.8', 'public'], ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'], ['127.255.1.2', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'], ['192.168.1.1', 'private'], ['100.64.0.1', 'private'], ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'], ['100.100.100.200', 'metadata'], ['fd00:ec2::254', 'metadata'], ['169.254.170.2', 'metadata'],
    ['169.254.1.1', 'link_local'], ['fe80::1', 'link_local'], ['fe80::1%eth0', 'link_local'], ['febf::1', 'link_local'],
    ['::ffff:169.254.169.254', 'metadata'], ['::ffff:a9fe:a9fe', 'metadata'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'metadata'], ['2002:a9fe:a9fe::1', 'metadata'], ['::169.254.169.254', 'metadata'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'], ['255.255.255.255', 'reserved'], ['2001:db8::1', 'reserved'],
    ['[::1]', 'loopback'],
  ];
  for (const [ip, cls] of cases) t.equal(classifyIp(ip), cls, ip);
  t.equal(classifyIp('example.com'), null);
});

t.test('base_url rules (the config check)', async (t) => {
  const open = { deny_private: false };
  const closed = { deny_private: true };
  const refusedAlways = [
    'http://169.254.169.254/latest/meta-data/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://METADATA.GOOGLE.INTERNAL./',
    'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[::ffff:169.254.169.254]/', 'http://[fe80::1]/', 'http://169.254.10.10:8080/v1',
    // The WHATWG URL parser normalises these to 169.254.169.254 before we look.
    'http://2852039166/', 'http://0xA9FEA9FE/', 'http://0251.0376.0251.0376/', 'http://169.254.43518/',
    'http://0.0.0.0:8080/', 'file:///etc/passwd', 'ftp://example.com/', 'gopher://example.com/', 'http://user:pass@api.example.com/v1', 'https://key@api.example.com/v1',
    'not a url',
  ];
  for (const u of refusedAlways) {
    t.ok(baseUrlProblem(u, open), `refused even by default: ${u}`);
  }
  const privateOnes = ['http://127.0.0.1:11434/v1', 'http://localhost:8000/v1', 'http://[::1]:8000/', 'http://10.0.0.5/v1', 'http://192.168.1.10:1234/v1', 'http://vllm.localhost/v1', 'http://[fd12::1]/'];
  for (const u of privateOnes) {
    t.equal(baseUrlProblem(u, open), null, `allowed by default (self-hosted servers): ${u}`);
    t.match(baseUrlProblem(u, closed), /deny_private/, `refused with deny_private: ${u}`);
  }
  for (const u of ['https://api.openai.com/v1', 'https://api.anthropic.com', 'http://8.8.8.8/v1']) t.equal(baseUrlProblem(u, closed), null, u);
});

t.test('the config check refuses unsafe base_urls with a message naming the field', async (t) => {
  const cfg = (base_url: string, network?: object) => JSON.stringify({ providers: [{ id: 'p', kind: 'openai', base_url }], routes: [{ model: 'm', targets: [{ provider: 'p', model: 'x' }] }], ...(network ? { network } : {}) });
  const err = (() => { try { parseConfig(cfg('http://169.254.169.254/v1'), 'c.json'); } catch (e) { return e; } })();
  t.type(err, ConfigError);
  t.match((err as ConfigError).issues, [{ path: 'providers[0].base_url', message: /cloud metadata address \(always refused\)/ }]);
  t.throws(() => parseConfig(cfg('http://metadata.google.internal/'), 'c.json'), ConfigError);
  t.throws(() => parseConfig(cfg('http://u:p@example.com/'), 'c.json'), /credentials in the URL/);
  t.throws(() => parseConfig(cfg('http://127.0.0.1:1/v1', { deny_private: true }), 'c.json'), /deny_private/);
  t.doesNotThrow(() => parseConfig(cfg('http://127.0.0.1:1/v1'), 'c.json'));
});

/** A lookup that answers from a table, and counts calls. */
function fakeDns(table: Record<string, string[] | (() => string[])>): Lookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (host: string) => {
    calls.push(host);
    const v = table[host];
    const list = typeof v === 'function' ? v() : v;
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as Lookup & { calls: string[] };
  fn.calls = calls;
  return fn;
}

const closeEach: Behaviour = (seen, res) => {
  res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(chatCompletion(String(seen.body?.model), 'ok')));
};

t.test('connect time: every resolved address is checked and the checked address is the one dialled', async (t) => {
  const up = await startFakeUpstream(closeEach);
  t.teardown(() => up.close());
  const base = (host: string) => `http://${host}:${up.port}/v1`;

  t.test('a name resolving to loopback is refused with deny_private, though the config check passed', async (t) => {
    const dns = fakeDns({ 'upstream.test': ['127.0.0.1'] });
    const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: base('upstream.test') }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], network: { deny_private: true }, plugins: [] }, { lookup: dns });
    t.teardown(() => gw.close());
    const before = up.seen.length;
    const r = await post(`${gw.baseURL}/chat/completions`, chat());
    t.equal(r.status, 502);
    t.match(r.json, { error: { code: 'SY_ERR_UPSTREAM_EXHAUSTED', message: /connect_error/ } });
    t.equal(up.seen.length, before, 'nothing reached the upstream');
    t.ok(gw.logs.some((l) => l.msg === 'SSRF guard refused an upstream connection' && l.address === '127.0.0.1'), 'logged');
  });

  t.test('a name resolving to the metadata address is refused even by default; so is one bad address among good ones', async (t) => {
    for (const answer of [['169.254.169.254'], ['127.0.0.1', '169.254.169.254'], ['fd00:ec2::254']]) {
      const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: base('upstream.test') }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], plugins: [] }, { lookup: fakeDns({ 'upstream.test': answer }) });
      const r = await post(`${gw.baseURL}/chat/completions`, chat());
      t.equal(r.status, 502, `refused: ${answer.join(', ')}`);
      await gw.close();
    }
  });

  t.test('an allowed name is dialled at its checked address with the original Host', async (t) => {
    const dns = fakeDns({ 'upstream.test': ['127.0.0.1'] });
    const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: base('upstream.test') }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], plugins: [] }, { lookup: dns });
    t.teardown(() => gw.close());
    const r = await post(`${gw.baseURL}/chat/completions`, chat());
    t.equal(r.status, 200, 'upstream.test does not exist in real DNS: the pinned address was used');
    t.equal(up.seen.at(-1)?.headers.host, `upstream.test:${up.port}`, 'the upstream sees the original host name');
    t.same(dns.calls, ['upstream.test']);
  });

  t.test('DNS rebinding: a name that later resolves to a forbidden address is refused on the next connect', async (t) => {
    const answers = [['127.0.0.1'], ['169.254.169.254']];
    const dns = fakeDns({ 'rebind.test': () => answers.shift() ?? ['169.254.169.254'] });
    const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: base('rebind.test') }], routes: [{ model: 'm', retries: 0, targets: [{ provider: 'p1', model: 'x' }] }], plugins: [] }, { lookup: dns });
    t.teardown(() => gw.close());
    const before = up.seen.length;
    t.equal((await post(`${gw.baseURL}/chat/completions`, chat())).status, 200, 'first connect: a good address');
    // The upstream closed the connection: the next request connects (and resolves) again.
    const r2 = await post(`${gw.baseURL}/chat/completions`, chat());
    t.equal(r2.status, 502, 'second connect: the rebound address is refused');
    t.equal(up.seen.length, before + 1);
    t.equal(dns.calls.length, 2, 'resolved on each connect');
  });
});

t.test('TLS: the pinned connection still verifies the certificate against the original name', { skip: hasOpenssl() ? false : 'openssl not available' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=upstream.test', '-addext', 'subjectAltName=DNS:upstream.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`servername=${(req.socket as import('node:tls').TLSSocket).servername}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const dns = fakeDns({ 'upstream.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'] });
  const pool = (host: string, denyPrivate = false) => new Pool(`https://${host}:${port}`, { connect: guardedConnect({ policy: { deny_private: denyPrivate }, timeout: 2000, lookup: dns, tls: { ca: cert } }) });

  const good = pool('upstream.test');
  const res = await good.request({ path: '/', method: 'GET' });
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), 'servername=upstream.test', 'SNI carried the original name while dialling 127.0.0.1');
  await good.close();

  const wrong = pool('other.test');
  const err = await wrong.request({ path: '/', method: 'GET' }).catch((e: unknown) => e);
  t.match(err, { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'a certificate for another name is rejected: verification is not bypassed by the pin');
  await wrong.close();

  const meta = pool('meta.test');
  const refused = await meta.request({ path: '/', method: 'GET' }).catch((e: unknown) => e);
  t.match(refused, { code: 'SY_SSRF_REFUSED', message: /meta\.test \(169\.254\.169\.254\): cloud metadata address/ });
  await meta.close();
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('the quickstart-style loopback upstream still works by default', async (t) => {
  const up = await startFakeUpstream(ok('fine'));
  const gw = await startGateway({ providers: [{ id: 'p1', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'p1', model: 'x' }] }], plugins: [] });
  t.teardown(async () => { await gw.close(); await up.close(); });
  t.equal((await post(`${gw.baseURL}/chat/completions`, chat())).status, 200);
});
