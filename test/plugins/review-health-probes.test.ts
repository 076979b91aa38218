import t from 'tap';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

const ADMIN = 'admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('active probes keep working after a config publish replaces the providers', async (t) => {
  const up = await startFakeUpstream(ok());
  const config = (retries: number) => ({
    server: { host: '127.0.0.1', port: 0 },
    providers: [{ id: 'p1', kind: 'openai', base_url: up.url, probe: { path: '/models', interval_ms: 100, timeout_ms: 500 } }],
    routes: [{ model: 'm', retries, targets: [{ provider: 'p1', model: 'x' }] }],
    admin: { token: ADMIN },
  });
  const gw = await startGateway(config(1), { dataDir: ':memory:' });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const target = async () => ((await (await fetch(`${gw.url}/admin/api/providers`, { headers })).json()) as { targets: { healthScore: number; samples: number; lastErrorAt: string | null }[] }).targets[0];
  const probes = () => up.seen.filter((s) => s.method === 'GET' && s.path === '/v1/models').length;

  await sleep(400);
  const before = await target();
  t.ok(before.samples >= 2, `probes ran (${before.samples} samples)`);
  t.equal(before.healthScore, 1);

  // An unrelated change: the providers (and their pools) are rebuilt, the old pools closed.
  const pub = await fetch(`${gw.url}/admin/api/config/publish`, { method: 'POST', headers, body: JSON.stringify({ source: JSON.stringify(config(0)) }) });
  t.equal(pub.status, 200);
  await sleep(1200); // applied within 1 s; the old pool closes 1 s after that
  const seenThen = probes();
  await sleep(1500);
  t.ok(probes() > seenThen + 5, 'the probes still reach the upstream');
  const after = await target();
  t.equal(after.lastErrorAt, null, 'no probe failed');
  t.equal(after.healthScore, 1, 'a healthy provider is not scored down by probes through a closed pool');
});
