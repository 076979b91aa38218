import { resolve } from 'node:path';
import { Db } from '../store/db.js';
import { RevisionError, RevisionStore } from '../../policies/revisions/store.js';

/** Where a state-changing command acts: a running gateway's admin API, or the data dir. */
export type CommandTarget = { kind: 'remote'; url: string; token: string } | { kind: 'local'; dataDir: string };

export function commandTarget(opts: { url?: string; dataDir?: string }): CommandTarget {
  const url = opts.url ?? process.env.SWITCHYARD_URL;
  if (url) {
    const token = process.env.SWITCHYARD_ADMIN_TOKEN;
    if (!token) throw new Error('--url needs SWITCHYARD_ADMIN_TOKEN in the environment');
    return { kind: 'remote', url: url.replace(/\/+$/, ''), token };
  }
  return { kind: 'local', dataDir: resolve(opts.dataDir ?? process.env.SWITCHYARD_DATA_DIR ?? './.switchyard') };
}

/** Call the admin API; a non-2xx answer becomes an Error carrying its message. */
export async function adminCall<T>(t: Extract<CommandTarget, { kind: 'remote' }>, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${t.url}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  // The gateway's refusal (bad token, invalid config, unknown revision) is an operator error, not a crash.
  if (!res.ok) throw new RevisionError((json as { error?: { message?: string } })?.error?.message ?? `${res.status} ${text.slice(0, 200)}`, res.status);
  return json as T;
}

/** Open the data dir's store for one command, and close it after. */
export async function withStore<T>(dataDir: string, fn: (store: RevisionStore, db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(dataDir);
  try {
    return await fn(new RevisionStore(db), db);
  } finally {
    await db.close();
  }
}

/** `--json`: exactly one JSON object on stdout; otherwise the human text. */
export function print(json: boolean | undefined, obj: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : text.endsWith('\n') ? text : text + '\n');
}
