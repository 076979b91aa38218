import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import OpenAI from 'openai';
import sqlite3 from 'sqlite3';
import { startFakeUpstream, stream } from '../helpers/fake-upstream.js';
import { startGateway, routeOver, chatStreamUntilEnd, collectChatStream, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/security.js';
import { MIGRATIONS } from '../../core/store/migrations.js';

/**
 * The request log says how a request ended where its status cannot: a client that left keeps
 * the 200 it was sent, and so does a stream the upstream cut after content. Both are columns
 * of the row (`client_aborted`, `interrupted`), read back through GET /admin/api/requests.
 */

const ADMIN = 'admin-token-0123456789abcdef';

interface Row { id: string; status: number; client_aborted: boolean; interrupted: boolean; stream: boolean }

async function rows(gw: TestGateway, query = ''): Promise<Row[]> {
  const r = await fetch(`${gw.url}/admin/api/requests${query}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return ((await r.json()) as { data: Row[] }).data;
}

async function gateway(t: Test, urls: string[], dataDir = ':memory:'): Promise<TestGateway> {
  const gw = await startGateway({ ...routeOver(urls), admin: { token: ADMIN } }, { dataDir });
  t.teardown(() => gw.close());
  return gw;
}

t.test('a whole answer is neither client-aborted nor interrupted', async (t) => {
  const a = await startFakeUpstream(stream(['one', 'two']));
  t.teardown(() => a.close());
  const gw = await gateway(t, [a.url]);
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'onetwo');
  const [row] = await rows(gw, `?id=${r.response.headers.get('x-request-id')}`);
  t.match(row, { status: 200, stream: true, client_aborted: false, interrupted: false });
});

t.test('a client that leaves mid-stream is recorded as client_aborted, with the 200 it was sent', async (t) => {
  const a = await startFakeUpstream(stream(['first', 'never'], { stallAfter: 1 }));
  t.teardown(() => a.close());
  const gw = await gateway(t, [a.url]);
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 });
  const s = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    if (text) break; // leaving the loop aborts the request
  }
  t.equal(text, 'first');
  let logged: Row[] = [];
  t.ok(await until(async () => (logged = await rows(gw)).length === 1), 'the request is logged once it ends');
  t.match(logged[0], { status: 200, stream: true, client_aborted: true, interrupted: false });
  t.same((await rows(gw, '?status=200')).length, 1, 'filters still apply to the row');
});

t.test('a stream the upstream cuts after content is recorded as interrupted', async (t) => {
  const a = await startFakeUpstream(stream(['part', 'rest'], { cutAfter: 1 }));
  t.teardown(() => a.close());
  const gw = await gateway(t, [a.url]);
  const r = await chatStreamUntilEnd(gw.baseURL);
  t.equal(r.text, 'part');
  t.ok(r.error, 'the client sees the stream fail');
  let logged: Row[] = [];
  t.ok(await until(async () => (logged = await rows(gw)).length === 1));
  t.match(logged[0], { stream: true, client_aborted: false, interrupted: true });
});

t.test('a data dir from before the columns is migrated: old rows read as neither, new rows are written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-reqlog-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The store as the first schema left it, with one request in the log.
  await new Promise<void>((resolve, reject) => {
    const db = new sqlite3.Database(join(dir, 'switchyard.db'));
    db.exec(
      `CREATE TABLE schema_version (version INTEGER NOT NULL); ${MIGRATIONS[0]}; INSERT INTO schema_version (version) VALUES (1);
       INSERT INTO request_log (id, ts, route, route_mode, status, attempts, stream, entry) VALUES ('old-1', ${Date.now()}, 'm', 'direct', 200, '[]', 0, 'openai.chat');`,
      (err) => db.close(() => (err ? reject(err) : resolve())),
    );
  });
  const a = await startFakeUpstream(stream(['new']));
  t.teardown(() => a.close());
  const gw = await gateway(t, [a.url], dir);
  const r = await collectChatStream(gw.baseURL);
  t.equal(r.text, 'new');
  const [old] = await rows(gw, '?id=old-1');
  t.match(old, { id: 'old-1', client_aborted: false, interrupted: false });
  const [fresh] = await rows(gw, `?id=${r.response.headers.get('x-request-id')}`);
  t.match(fresh, { status: 200, client_aborted: false, interrupted: false });
});
