import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { until } from '../helpers/security.js';

/**
 * Config revisions hold the file as written, literal secrets included. What the admin API
 * shows of them (a revision's source, a diff between two) and what a rejected config's error
 * says (the 422 body, the log line of a watched file) must not carry any of those secrets.
 */

const ADMIN = 'adm-review-token-0123456789abcd';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const KEY_1 = 'sk-review-provider-key-one-1111';
const KEY_2 = 'sk-review-provider-key-two-2222';
const HEADER_1 = 'hdr-review-secret-aaaa-3333';
const HEADER_2 = 'hdr-review-secret-bbbb-4444';
const REDIS_PW = 'redis-review-pass-5555';
const BLOCK_KEY = 'sk-review-block-scalar-6666';
const TYPO_KEY = 'sk-review-typo-line-key-7777';

const configWith = (url: string, key: string, header: string) => `server: { host: 127.0.0.1, port: 0 }
admin: { token: ${ADMIN} }
providers:
  - id: up
    kind: openai
    base_url: "${url}"
    api_key: ${key}
    headers:
      Authorization: Bearer ${header}
      OpenAI-Organization: \${ORG_ID:-org-default}
  - id: other
    kind: openai
    base_url: "${url}"
    api_key: >-
      ${BLOCK_KEY}
  - { id: envy, kind: openai, base_url: "${url}", api_key: \${REVIEW_UNSET_KEY:-}, headers: { x-team: "Bearer \${TEAM_TOKEN:-t}" } }
routes:
  - model: m
    targets: [{ provider: up, model: x }]
limits: { redis_url: "redis://:${REDIS_PW}@127.0.0.1:6379" }
`;

const SECRETS = [ADMIN, KEY_1, KEY_2, HEADER_1, HEADER_2, REDIS_PW, BLOCK_KEY];

t.test('revision sources and diffs from the admin API carry no literal secret', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({ providers: [{ id: 'up', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'up', model: 'x' }] }], admin: { token: ADMIN } }, { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await up.close(); });

  const publish = async (source: string) => {
    const res = await fetch(`${gw.url}/admin/api/config/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source }) });
    t.equal(res.status, 200, 'published');
    return ((await res.json()) as { id: string }).id;
  };
  const first = await publish(configWith(up.url, KEY_1, HEADER_1));
  // A key rotation: the new literal key and header are on the diff's added lines.
  const second = await publish(configWith(up.url, KEY_2, HEADER_2));

  const seen: string[] = [];
  for (const id of [first, second]) {
    const rev = (await (await fetch(`${gw.url}/admin/api/config/revisions/${id}`, { headers: auth })).json()) as { source: string };
    seen.push(rev.source);
    t.match(rev.source, /\$\{ORG_ID:-org-default\}/, 'a ${ENV} reference is kept: it names, not holds');
    t.match(rev.source, /Bearer \$\{TEAM_TOKEN:-t\}/, 'so is a header made of a scheme and a reference');
    t.match(rev.source, /^      Authorization: \[redacted\]$/m, 'a literal header value is redacted');
    t.match(rev.source, /^    api_key: \[redacted\]\n    headers:/m, 'a plain key is redacted');
    t.match(rev.source, /^    api_key: \[redacted\]\n  - \{ id: envy/m, 'a block scalar key is redacted');
    t.match(rev.source, /redis_url: "redis:\/\/:redacted@127\.0\.0\.1:6379"/, 'the Redis password is redacted, the rest of the URL kept');
  }
  const diff = (await (await fetch(`${gw.url}/admin/api/config/diff?a=${first}&b=${second}`, { headers: auth })).json()) as { diff: string };
  seen.push(diff.diff);
  t.match(diff.diff, /^--- /m, 'a diff came back');

  const all = seen.join('\n');
  for (const s of SECRETS) t.notOk(all.includes(s), `${s.slice(0, 18)}… is not shown`);
});

t.test('a config that does not parse is refused without quoting the line that holds a key', async (t) => {
  const up = await startFakeUpstream(ok());
  const dir = mkdtempSync(join(tmpdir(), 'sy-review-cfgsecret-'));
  const file = join(dir, 'switchyard.yaml');
  const good = configWith(up.url, KEY_1, HEADER_1);
  writeFileSync(file, good);
  const gw = await startGateway({ providers: [{ id: 'up', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'up', model: 'x' }] }], admin: { token: ADMIN } }, { dataDir: join(dir, 'data'), configFile: file, baseDir: dir });
  t.teardown(async () => { await gw.close(); await up.close(); });

  // YAML: a stray colon on the line of a new key (the parser's code frame would quote it).
  const yamlTypo = good.replace(`api_key: ${KEY_1}`, `api_key: ${TYPO_KEY}: x`);
  const badYaml = `providers:\n  - { id: up, kind: openai, base_url: "${up.url}", api_key: ${TYPO_KEY}: x }\nroutes: []\n`;
  const badJson = `{"providers": [{"id": "up", "kind": "openai", "base_url": "${up.url}", "api_key": ${TYPO_KEY}}], "routes": []}`;
  const bodies: string[] = [];
  for (const [source, file_name] of [[badYaml, 'switchyard.yaml'], [yamlTypo, 'switchyard.yaml'], [badJson, 'switchyard.json']]) {
    const res = await fetch(`${gw.url}/admin/api/config/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source, file_name }) });
    const text = await res.text();
    bodies.push(text);
    t.equal(res.status, 422, `${file_name}: refused`);
    t.match(text, /cannot parse/, `${file_name}: the reason says it does not parse`);
  }
  t.match(bodies[0], /line 2, column \d+/, 'and where');
  for (const b of bodies) t.notOk(b.includes(TYPO_KEY), 'the 422 body does not quote the key');

  // The same typo saved into the watched file: rejected, and the log line says why without the key.
  writeFileSync(file, badYaml);
  t.ok(await until(() => gw.logs.some((l) => /config file rejected/.test(String(l.msg))), 5000), 'the broken file was rejected');
  const line = JSON.stringify(gw.logs.find((l) => /config file rejected/.test(String(l.msg))));
  t.match(line, /cannot parse/, 'the log line gives the reason');
  t.notOk(line.includes(TYPO_KEY), 'the log line does not quote the key');
  t.notOk(JSON.stringify(gw.logs).includes(TYPO_KEY), 'no log line does');
});
