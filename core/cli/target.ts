import { resolve } from 'node:path';
import { CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { Db } from '../store/db.js';
import { RevisionError, RevisionStore } from '../../policies/revisions/store.js';
import { DryRunError } from '../../policies/replay/types.js';

/** An operator's mistake the CLI itself finds (no token for --url, no such file): the message, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a state-changing command acts: a running gateway's admin API, or the data dir. */
export type CommandTarget = { kind: 'remote'; url: string; token: string } | { kind: 'local'; dataDir: string };

export function commandTarget(opts: { url?: string; dataDir?: string }): CommandTarget {
  const url = opts.url ?? process.env.SWITCHYARD_URL;
  if (url) {
    const token = process.env.SWITCHYARD_ADMIN_TOKEN;
    if (!token) throw new UsageError('--url needs SWITCHYARD_ADMIN_TOKEN in the environment');
    return { kind: 'remote', url: url.replace(/\/+$/, ''), token };
  }
  return { kind: 'local', dataDir: resolve(opts.dataDir ?? process.env.SWITCHYARD_DATA_DIR ?? './.switchyard') };
}

/** The gateway refused an admin call: its message, HTTP status and error code (e.g. SY_ERR_UNAUTHORIZED). */
export class AdminApiError extends RevisionError {
  constructor(message: string, status: number, readonly code: string | undefined) {
    super(message, status);
    this.name = 'AdminApiError';
  }
}

/** Call the admin API; a non-2xx answer becomes an AdminApiError carrying its message and code. */
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
  const error = (json as { error?: { message?: string; code?: string } } | null)?.error;
  if (!res.ok) throw new AdminApiError(error?.message ?? `${res.status} ${text.slice(0, 200)}`, res.status, typeof error?.code === 'string' ? error.code : undefined);
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

/** The `error` member of a failed --json command's object (no stack: scripts get the message). */
export interface CliFailure {
  message: string;
  /** The admin API's code, or the one it would answer for the same failure made locally. */
  code: string;
  kind: 'admin_api' | 'dry_run' | 'revision' | 'config' | 'usage' | 'io' | 'internal';
  /** The HTTP status the admin API answered, or would answer (revision and dry-run errors). */
  status?: number;
}

/** Same code for a failure whether the command ran on the data dir or through --url (see policies/admin-routes.ts). */
const codeFor = (status: number) => (status === 404 ? 'SY_ERR_NOT_FOUND' : status >= 500 ? 'SY_ERR_INTERNAL' : 'SY_ERR_INVALID_REQUEST');

export function describeFailure(err: unknown): CliFailure {
  if (err instanceof AdminApiError) return { message: err.message, code: err.code ?? codeFor(err.status), kind: 'admin_api', status: err.status };
  if (err instanceof RevisionError) return { message: err.message, code: codeFor(err.status), kind: err instanceof DryRunError ? 'dry_run' : 'revision', status: err.status };
  if (err instanceof ConfigError) return { message: err.message, code: 'SY_ERR_INVALID_REQUEST', kind: 'config' };
  if (err instanceof UsageError) return { message: err.message, code: 'SY_ERR_INVALID_REQUEST', kind: 'usage' };
  if (err instanceof CommanderError) return { message: err.message.replace(/^error: /, ''), code: err.code, kind: 'usage' };
  const e = err instanceof Error ? err : new Error(String(err));
  // fetch's "fetch failed" says nothing by itself; its cause (connect ECONNREFUSED ...) does.
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  // A system call that failed (unreadable file, refused connection): its errno code.
  const sys = [e, e.cause].find((x): x is NodeJS.ErrnoException => x instanceof Error && typeof (x as NodeJS.ErrnoException).code === 'string' && typeof (x as NodeJS.ErrnoException).syscall === 'string');
  return sys ? { message: e.message + cause, code: sys.code!, kind: 'io' } : { message: e.message + cause, code: 'SY_ERR_INTERNAL', kind: 'internal' };
}

/** A failed --json command's one object on stdout; `extra` carries command-specific fields (e.g. policy check's problems). */
export function printFailure(err: unknown, extra: Record<string, unknown> = {}, done?: () => void): void {
  process.stdout.write(JSON.stringify({ ok: false, ...extra, error: describeFailure(err) }) + '\n', done);
}
