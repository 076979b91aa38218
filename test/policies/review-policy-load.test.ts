import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { preferSecond } from './fixtures/policies.js';

/**
 * A policy whose top-level code throws or loops type-checks fine but can never be loaded:
 * publishing it must be refused, so the working revision stays active (also across a restart).
 */

const ADMIN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

const throwsAtLoad = `import { definePolicy } from 'switchyard/sdk';
const table: { weight: number } = JSON.parse('null');
const w = table.weight;
export default definePolicy({ name: 'throws-at-load', selectProvider({ candidates }) { return { order: candidates.map((c) => c.id), reason: String(w) }; } });
`;
const loopsAtLoad = `import { definePolicy } from 'switchyard/sdk';
let i = 0;
while (i >= 0) i++;
export default definePolicy({ name: 'loops-at-load', selectProvider({ candidates }) { return { order: candidates.map((c) => c.id) }; } });
`;

t.test('a policy that throws or times out while loading is refused at publish; the working one keeps serving', async (t) => {
  const a = await startFakeUpstream(ok('from a'));
  const b = await startFakeUpstream(ok('from b'));
  t.teardown(async () => { await a.close(); await b.close(); });
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-review-load-'));
  const cfg = {
    providers: [{ id: 'a', kind: 'openai', base_url: a.url }, { id: 'b', kind: 'openai', base_url: b.url }],
    routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'y' }] }],
    admin: { token: ADMIN },
  };
  const gw = await startGateway(cfg, { dataDir });
  const ask = async (url: string) => (await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] })).choices[0].message.content;

  const good = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source: preferSecond }) });
  t.equal(good.status, 200);
  const goodId = ((await good.json()) as { id: string }).id;
  t.equal(await ask(gw.url), 'from b', 'the working policy serves');

  for (const [name, source, why] of [['throws.ts', throwsAtLoad, /throws\.ts: .*(null|weight)/], ['loops.ts', loopsAtLoad, /loops\.ts: .*exceeded \d+ ms/]] as const) {
    const res = await fetch(`${gw.url}/admin/api/policies/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ source, file_name: name }) });
    const body = (await res.json()) as { error?: { message: string; code: string } };
    t.equal(res.status, 422, `${name}: refused`);
    t.match(body.error?.message, why, `${name}: the reason names the file and the load failure`);
    const list = (await (await fetch(`${gw.url}/admin/api/policies`, { headers: auth })).json()) as { active: string };
    t.equal(list.active, goodId, `${name}: the active pointer did not move`);
    t.equal(await ask(gw.url), 'from b', `${name}: the working policy still serves`);
  }
  await gw.close();

  const again = await startGateway(cfg, { dataDir });
  t.teardown(() => again.close());
  t.equal(await ask(again.url), 'from b', 'after a restart the working policy is still the one served');
});
