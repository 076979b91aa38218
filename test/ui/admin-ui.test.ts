import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fail, ok, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openBrowser, waitForText, SCREENSHOTS, type Browser, type PageDocument, type PageTextArea } from './browser.js';

/** The page's document, for the callbacks that run in Chromium (see PageDocument). */
declare const document: PageDocument;

/**
 * The admin UI in headless Chromium, as an operator uses it during an incident: sign in, watch
 * a 429 turn into a failover on the overview, open that request's attempts, dry-run and publish
 * a policy and see routing change, roll it back, edit the config, read the audit log; a viewer
 * can look but not publish. Screenshots of each page go to .tap/ui-screenshots/.
 */

const ADMIN = 'ui-admin-token-0123456789';
const VIEWER = 'ui-viewer-token-0123456789';

const preferGroq = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'prefer-groq',
  selectProvider({ candidates }) {
    const groq = candidates.filter((c) => c.provider === 'groq');
    const rest = candidates.filter((c) => c.provider !== 'groq');
    return { order: [...groq, ...rest].map((c) => c.id), reason: 'groq first while openai is rate limited' };
  },
});
`;

const throwing = `import { definePolicy } from 'switchyard/sdk';

export default definePolicy({
  name: 'broken',
  selectProvider() {
    throw new Error('not today');
  },
});
`;

const configYaml = (openai: string, groq: string, local: string) => `# Switchyard config used by the admin UI test
server: { host: 127.0.0.1, port: 0 }
providers:
  - { id: openai, kind: openai, base_url: ${openai}, api_key: "\${UI_TEST_OPENAI_KEY}" }
  - { id: groq, kind: openai, base_url: ${groq}, api_key: "\${UI_TEST_GROQ_KEY}" }
  - { id: local, kind: openai, base_url: ${local} }
routes:
  - model: workhorse
    targets:
      - { provider: openai, model: gpt-4o-mini, price: { input: 0.15, output: 0.6 } }
      - { provider: groq, model: llama-3.3-70b, price: { input: 0.59, output: 0.79 } }
    timeout_ms: 30000
  - model: batch
    targets:
      - { provider: local, model: qwen2.5-7b }
      - { provider: groq, model: llama-3.3-70b, price: { input: 0.59, output: 0.79 } }
    timeout_ms: 30000
admin: { token: "\${UI_TEST_ADMIN_TOKEN}", viewer_token: "\${UI_TEST_VIEWER_TOKEN}" }
`;

interface World {
  gw: TestGateway;
  openai: FakeUpstream;
  ask(model: string): Promise<{ status: number; provider: string | null; mode: string | null; id: string | null }>;
}

async function world(t: Test): Promise<World> {
  process.env.UI_TEST_OPENAI_KEY = 'sk-ui-test-openai-key';
  process.env.UI_TEST_GROQ_KEY = 'sk-ui-test-groq-key';
  process.env.UI_TEST_ADMIN_TOKEN = ADMIN;
  process.env.UI_TEST_VIEWER_TOKEN = VIEWER;
  const [openai, groq, local] = await Promise.all([startFakeUpstream(ok('from openai')), startFakeUpstream(ok('from groq')), startFakeUpstream(ok('from local'))]);
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-ui-'));
  const file = join(dataDir, 'switchyard.yaml');
  const yaml = configYaml(openai.url, groq.url, local.url);
  writeFileSync(file, yaml);
  // The same config as an object (startGateway expands the \${ENV} references too) and as the file it came from.
  const gw = await startGateway(parseYaml(yaml), { dataDir, configFile: file, watch: false });
  t.teardown(async () => {
    await gw.close();
    await Promise.all([openai.close(), groq.close(), local.close()]);
  });
  const ask = async (model: string) => {
    const r = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 }) });
    await r.arrayBuffer();
    return { status: r.status, provider: r.headers.get('x-switchyard-provider'), mode: r.headers.get('x-switchyard-route-mode'), id: r.headers.get('x-request-id') };
  };
  return { gw, openai, ask };
}

/** Sign in with the keyboard only: the token field has focus, Enter submits. */
async function signIn(b: Browser, url: string, token: string) {
  await b.page.goto(`${url}/admin`);
  const field = b.page.getByLabel('Admin or viewer token');
  await field.waitFor();
  // The page focuses the field itself once it has rendered: wait for that, then type.
  for (let i = 0; i < 100 && !(await field.evaluate((el) => el === document.activeElement)); i++) await b.page.waitForTimeout(50);
  await b.page.keyboard.type(token);
  await b.page.keyboard.press('Enter');
  await b.page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

t.test('an operator handles a provider incident end to end in the browser', async (t) => {
  const w = await world(t);
  const { gw } = w;
  for (let i = 0; i < 4; i++) t.match(await w.ask('batch'), { status: 200, provider: 'local', mode: 'direct' });
  t.match(await w.ask('workhorse'), { status: 200, provider: 'openai', mode: 'direct' });

  const b = await openBrowser();
  t.teardown(() => b.close());
  const { page } = b;

  // Sign in.
  await page.goto(`${gw.url}/admin`);
  await page.getByLabel('Admin or viewer token').waitFor();
  await b.shot('01-sign-in');
  await page.getByLabel('Admin or viewer token').fill('not-the-token-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitForText(page.getByRole('alert'), /not the admin or the viewer token/);
  await signIn(b, gw.url, ADMIN);
  t.match(await page.locator('.topbar').innerText(), /Admin/, 'signed in as admin');

  // A 429 from openai: the request fails over to groq, and the overview shows it.
  w.openai.queue(fail(429, { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': '30' }));
  const failed = await w.ask('workhorse');
  t.match(failed, { status: 200, provider: 'groq', mode: 'model_fallback' }, 'the gateway failed over');
  const openaiRow = page.locator('tr[data-target*=":openai/"]');
  await waitForText(openaiRow, /cooling down/);
  t.match(await openaiRow.innerText(), /until \d\d:\d\d:\d\d \(in \d+ s\)/, 'says until when');
  const recent = page.locator('table.recent tbody tr').first();
  await waitForText(recent, /model_fallback/);
  t.match(await recent.innerText(), /openai 429 rate_limited[\s\S]*groq 200/, 'the attempt chain is on the overview');
  await waitForText(page.locator('#chart-mode').locator('..'), /model_fallback\s*1/);
  await b.shot('02-overview-failover');

  // Open that request: its attempts timeline and cost.
  await recent.getByRole('link').click();
  const drawer = page.getByRole('region', { name: /^Request .* details$/ });
  await waitForText(drawer, /Attempts \(2\)/);
  const detail = await drawer.innerText();
  t.match(detail, new RegExp(failed.id!), 'the request id');
  t.match(detail, /#1\s*openai · gpt-4o-mini\s*429 · rate_limited/, 'first attempt: openai 429');
  t.match(detail, /upstream 429 \(requests\/rate_limit_exceeded\)/, 'with what the upstream said');
  t.match(detail, /#2\s*groq · llama-3.3-70b\s*200 · ok/, 'second attempt: groq 200');
  t.match(detail, /Cost\s*\$\d/, 'the cost');
  t.match(detail, /model_fallback/);
  await b.shot('03-request-attempts');
  await page.keyboard.press('Escape');
  await drawer.waitFor({ state: 'detached' });

  // Requests page with filters.
  await page.getByLabel('Route mode').selectOption('model_fallback');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitForText(page.locator('#log-title'), /1 shown/);
  t.match(await page.locator('table.requests tbody').innerText(), /model_fallback/, 'the one model_fallback request');
  await page.getByLabel('Route mode').selectOption('');
  await page.getByLabel('Provider').selectOption('local');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitForText(page.locator('#log-title'), /4 shown/);
  await b.shot('04-requests-filtered');

  // The keyboard opens a request and Escape brings focus back to it.
  const first = page.locator('button[data-open]').first();
  await first.focus();
  await page.keyboard.press('Enter');
  await waitForText(drawer, /Attempts \(1\)/);
  t.equal(await page.evaluate(() => document.activeElement?.id), 'detail-title', 'focus moves into the details');
  await page.keyboard.press('Escape');
  await drawer.waitFor({ state: 'detached' });
  const openedId = await first.getAttribute('data-open');
  await page.waitForFunction((id) => document.activeElement?.getAttribute('data-open') === id, openedId, { timeout: 3000 }).catch(() => {});
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-open') ?? null), openedId, 'focus returns to the row');

  // Dry-run a policy from the editor, with openai simulated down.
  await page.getByRole('link', { name: /Policies/ }).click();
  await page.getByRole('tab', { name: 'Dry-run & publish' }).click();
  const editor = page.getByLabel(/Policy source/);
  await editor.fill(preferGroq);
  t.equal(await editor.inputValue(), preferGroq, 'the editor holds exactly what was typed');
  await page.getByRole('checkbox', { name: 'openai' }).check();
  const dryStart = Date.now();
  await page.getByRole('button', { name: 'Run dry-run' }).click();
  const report = page.locator('section.report');
  // The first compile in a process starts the compiler worker: allow a slow machine its time.
  await waitForText(report, /Requests replayed\s*6/, 60_000);
  t.comment(`dry-run answered in ${Date.now() - dryStart} ms`);
  const text = await report.innerText();
  t.match(text, /Decisions changed\s*4\s*66\.7%/, 'the four batch requests move (openai down makes workhorse groq either way)');
  t.match(text, /Policy errors \/ timeouts\s*0\s*\/ 0/);
  t.match(text, /Traffic shift/);
  t.ok(await report.locator('svg[aria-label*="local"]').count(), 'the shift chart names the providers');
  await b.shot('05-policy-dry-run');

  // Publish it with a note: routing changes on the next request.
  await page.getByLabel(/Why\?/).last().fill('openai is rate limiting us: send traffic to groq');
  await page.getByRole('button', { name: 'Publish policy' }).click();
  await waitForText(page.getByRole('status').filter({ hasText: 'Published' }), /prefer-groq .* is the active policy/);
  for (let i = 0; i < 3; i++) t.match(await w.ask('batch'), { status: 200, provider: 'groq', mode: 'policy' }, 'batch now goes to groq');
  await waitForText(page.locator('.active-bar'), /prefer-groq/);
  await page.getByRole('link', { name: /Overview/ }).click();
  await waitForText(page.locator('#chart-mode').locator('..'), /policy\s*3/);
  t.match(await page.locator('.stats').innerText(), /Routing policy\s*prefer-groq/, 'the overview names the active policy');
  await b.shot('06-overview-after-publish');

  // Roll back from the Policies page: the static order again.
  await page.getByRole('link', { name: /Policies/ }).click();
  await page.getByRole('tab', { name: 'Revisions' }).click();
  await waitForText(page.locator('.rev-detail'), /prefer-groq/);
  await b.shot('07-policy-revisions');
  await page.getByLabel(/Why\?/).first().fill('openai quota reset');
  await page.getByRole('button', { name: 'Roll back to the previous revision' }).click();
  await waitForText(page.locator('.active-bar'), /Rolled back: no policy is active now/);
  t.match(await w.ask('batch'), { status: 200, provider: 'local', mode: 'direct' }, 'rollback restores the static order');

  // Config: edit, publish, diff.
  await page.getByRole('link', { name: /Config/ }).click();
  await waitForText(page.locator('.active-bar'), /switchyard\.yaml/);
  await page.getByRole('tab', { name: 'Edit & publish' }).click();
  const cfg = page.getByLabel(/Config source/);
  await page.waitForFunction(() => /workhorse/.test((document.getElementById('config-source') as PageTextArea | null)?.value ?? ''));
  const src = await cfg.inputValue();
  t.match(src, /\$\{UI_TEST_OPENAI_KEY\}/, 'env references are shown as written');
  await cfg.fill(src.replace(/(model: batch[\s\S]*?timeout_ms: )30000/, '$115000'));
  await page.getByLabel(/Why\?/).last().fill('batch: shorter timeout');
  await page.getByRole('button', { name: 'Publish config' }).click();
  await waitForText(page.getByRole('status').filter({ hasText: 'Published config' }), /Published config/);
  await page.getByRole('tab', { name: 'Compare' }).click();
  const diff = page.locator('pre.diff');
  await waitForText(diff, /\+\s+timeout_ms: 15000/);
  t.match(await diff.innerText(), /-\s+timeout_ms: 30000/);
  await b.shot('08-config-diff');

  // Audit: who, what, when, why, from → to.
  await page.getByRole('link', { name: /Audit/ }).click();
  const audit = page.locator('table.audit tbody');
  await waitForText(audit, /openai quota reset/);
  const rows = await audit.innerText();
  t.match(rows, /admin via cookie\s*publish config[\s\S]*batch: shorter timeout/);
  t.match(rows, /rollback policy\s*prefer-groq [0-9a-f]{12}\s*→\s*no policy \(static order\)\s*openai quota reset/);
  t.match(rows, /publish policy\s*no policy \(static order\)\s*→\s*prefer-groq [0-9a-f]{12}\s*openai is rate limiting us/);
  await b.shot('09-audit');

  // Sign out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await waitForText(page.getByRole('status'), /You signed out/);
  t.equal(await page.evaluate(async () => (await fetch('/admin/api/whoami')).status), 401, 'the session is gone');
  t.same(b.problems, [], 'no script errors or CSP violations');
  t.comment(`screenshots in ${SCREENSHOTS}`);
});

t.test('a viewer sees everything and can publish nothing', async (t) => {
  const w = await world(t);
  await w.ask('batch');
  const b = await openBrowser();
  t.teardown(() => b.close());
  const { page } = b;
  await signIn(b, w.gw.url, VIEWER);
  t.match(await page.locator('.topbar').innerText(), /Viewer · read only/);
  await waitForText(page.locator('table.targets'), /local/);

  await page.getByRole('link', { name: /Policies/ }).click();
  await page.getByRole('tab', { name: 'Dry-run & publish' }).click();
  await page.getByLabel(/Policy source/).fill(preferGroq);
  t.ok(await page.getByRole('button', { name: 'Publish policy' }).isDisabled(), 'publish is disabled');
  t.notOk(await page.getByRole('button', { name: 'Run dry-run' }).isDisabled(), 'a dry-run changes nothing: viewers may run one');
  t.ok(await page.getByRole('button', { name: 'Roll back to the previous revision' }).isDisabled(), 'rollback is disabled');
  await b.shot('10-viewer-policies');

  const status = await page.evaluate(async (source) => {
    const r = await fetch('/admin/api/policies/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source, note: 'sneaky' }) });
    return r.status;
  }, preferGroq);
  t.equal(status, 403, 'the server refuses the viewer');
  const list = await (await fetch(`${w.gw.url}/admin/api/policies`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { active: string | null };
  t.equal(list.active, null, 'nothing was published');
  t.same(b.problems, [], 'no script errors or CSP violations');
});

t.test('a policy that throws: the dry-run says so, and a clean-dry-run publish is refused', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 3; i++) await w.ask('batch');
  const b = await openBrowser();
  t.teardown(() => b.close());
  const { page } = b;
  await signIn(b, w.gw.url, ADMIN);
  await page.goto(`${w.gw.url}/admin#/policies?tab=edit`);
  await page.getByLabel(/Policy source/).fill(throwing);
  await page.getByRole('button', { name: 'Run dry-run' }).click();
  const report = page.locator('section.report');
  await waitForText(report, /Policy errors \/ timeouts\s*3\s*\/ 0/);
  t.match(await page.locator('#pub-title').locator('..').innerText(), /saw 3 errors and 0 timeouts/, 'the publish box warns');
  await page.getByLabel(/Refuse if it errors/).check();
  await page.getByRole('button', { name: 'Publish policy' }).click();
  await waitForText(page.getByRole('alert'), /Refused \(409\)[\s\S]*require_dry_run_clean/);
  await b.shot('11-policy-refused');
  const list = await (await fetch(`${w.gw.url}/admin/api/policies`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { active: string | null };
  t.equal(list.active, null, 'nothing was published');
  t.same(b.problems, []);
});

t.test('without a data dir: live target state still shows, and the other pages say what is missing', async (t) => {
  const up = await startFakeUpstream(ok());
  const gw = await startGateway({ providers: [{ id: 'solo', kind: 'openai', base_url: up.url }], routes: [{ model: 'm', targets: [{ provider: 'solo', model: 'x' }] }], admin: { token: ADMIN } });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const b = await openBrowser();
  t.teardown(() => b.close());
  await signIn(b, gw.url, ADMIN);
  await waitForText(b.page.locator('table.targets'), /solo · x[\s\S]*in rotation/);
  t.match(await b.page.locator('main').innerText(), /Traffic charts need the request log/);
  for (const section of ['Requests', 'Policies', 'Audit']) {
    await b.page.getByRole('link', { name: new RegExp(section) }).click();
    await waitForText(b.page.locator('main'), /data dir/);
  }
  await b.shot('12-no-data-dir');
  t.same(b.problems, []);
});

t.test('the UI is served from the package, offline, with a strict CSP', async (t) => {
  const w = await world(t);
  const index = await fetch(`${w.gw.url}/admin`);
  t.equal(index.status, 200);
  t.match(index.headers.get('content-security-policy'), /default-src 'none'; script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
  const html = await index.text();
  t.notMatch(html, /https?:\/\//, 'no external URL in the shell');
  for (const path of ['/admin/assets/app.js', '/admin/assets/style.css', '/admin/vendor/preact.mjs', '/admin/vendor/preact-hooks.mjs', '/admin/vendor/htm.mjs']) {
    const r = await fetch(`${w.gw.url}${path}`);
    t.equal(r.status, 200, path);
    const etag = r.headers.get('etag');
    t.equal((await fetch(`${w.gw.url}${path}`, { headers: { 'if-none-match': etag! } })).status, 304, `${path} revalidates`);
  }
  t.equal((await fetch(`${w.gw.url}/admin/assets/../../package.json`)).status, 404, 'only the UI files');
  t.equal((await fetch(`${w.gw.url}/admin/assets/%2e%2e/serve-ui.ts`)).status, 404);
  t.equal((await fetch(`${w.gw.url}/admin/api/traffic`)).status, 401, 'data needs a session');
  const traffic = await (await fetch(`${w.gw.url}/admin/api/traffic?minutes=10`, { headers: { authorization: `Bearer ${VIEWER}` } })).json() as { buckets: unknown[] };
  t.equal(traffic.buckets.length, 10);
});
