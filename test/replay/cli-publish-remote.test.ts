import t from 'tap';
import { ADMIN } from './helpers.js';
import { cliRun as cli, publishSetup as setup } from './cli-helpers.js';

t.test('policy publish --url runs the admin dry-run first (requests just served included)', async (t) => {
  const { gw, broken, good, traffic } = await setup(t);
  await traffic(4);
  const refused = await cli('policy', 'publish', broken, '--url', gw.url, '--require-dry-run-clean');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /dry-run on 4 captures from the last 24h: .*4 errors, 0 timeouts/);
  t.match(refused.stderr, /refusing to publish/);
  const list = await (await fetch(`${gw.url}/admin/api/policies`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { active: string | null };
  t.equal(list.active, null, 'nothing was published');

  const clean = await cli('policy', 'publish', good, '--url', gw.url, '--require-dry-run-clean', '--json');
  t.equal(clean.code, 0);
  t.match(clean.stderr, /dry-run on 4 captures from the last 24h: 4 decisions change \(100\.0%\).*0 errors, 0 timeouts/);
  t.match(JSON.parse(clean.stdout), { changed: true });
});
