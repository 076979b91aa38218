import type { Db } from '../../core/store/db.js';

/** What is revisioned: routing policies and whole gateway configs share one lifecycle. */
export type Scope = 'policy' | 'config';

export interface Revision {
  id: string;
  scope: Scope;
  name: string | null;
  source: string;
  compiled: string | null;
  author: string | null;
  note: string | null;
  created: number;
}

export interface RevisionSummary extends Omit<Revision, 'source' | 'compiled'> {
  active: boolean;
}

export interface AuditEntry {
  id: number;
  ts: number;
  actor: string;
  action: string;
  scope: Scope;
  from_rev: string | null;
  to_rev: string | null;
  note: string | null;
}

export class RevisionError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
    this.name = 'RevisionError';
  }
}

/**
 * Immutable revisions (id = content hash), one active pointer per scope, and an audit log.
 * Publish and rollback move the pointer and write the audit row in one transaction.
 */
export class RevisionStore {
  constructor(readonly db: Db) {}

  /** Store a revision; an existing id is left as it was (revisions are immutable). Returns whether it was new. */
  async put(r: Omit<Revision, 'created'> & { created?: number }): Promise<boolean> {
    const res = await this.db.run('INSERT OR IGNORE INTO revisions (id, scope, name, source, compiled, author, note, created) VALUES (?,?,?,?,?,?,?,?)', [r.id, r.scope, r.name, r.source, r.compiled, r.author, r.note, r.created ?? Date.now()]);
    return res.changes > 0;
  }

  /** A revision by id or unique id prefix (at least 6 characters). */
  async get(scope: Scope, ref: string): Promise<Revision | null> {
    const exact = await this.db.get<Revision>('SELECT * FROM revisions WHERE scope = ? AND id = ?', [scope, ref]);
    if (exact) return exact;
    if (ref.length < 6 || !/^[0-9a-f]+$/i.test(ref)) return null;
    const rows = await this.db.all<Revision>('SELECT * FROM revisions WHERE scope = ? AND id LIKE ? LIMIT 2', [scope, `${ref.toLowerCase()}%`]);
    if (rows.length > 1) throw new RevisionError(`revision prefix ${ref} is ambiguous`);
    return rows[0] ?? null;
  }

  async activeId(scope: Scope): Promise<string | null> {
    const row = await this.db.get<{ revision: string | null }>('SELECT revision FROM active WHERE scope = ?', [scope]);
    return row?.revision ?? null;
  }

  async active(scope: Scope): Promise<Revision | null> {
    const id = await this.activeId(scope);
    return id ? this.get(scope, id) : null;
  }

  async list(scope: Scope): Promise<RevisionSummary[]> {
    const active = await this.activeId(scope);
    const rows = await this.db.all<Revision>('SELECT id, scope, name, author, note, created FROM revisions WHERE scope = ? ORDER BY created DESC, rowid DESC', [scope]);
    return rows.map((r) => ({ ...r, active: r.id === active }));
  }

  /** Point `scope` at revision `to` (or nothing) and audit it, atomically. Returns the previous id. */
  async activate(scope: Scope, to: string | null, audit: { actor: string; action: string; note?: string | null }): Promise<string | null> {
    return this.db.tx(async () => {
      const from = await this.activeId(scope);
      await this.db.run('INSERT INTO active (scope, revision, updated) VALUES (?,?,?) ON CONFLICT(scope) DO UPDATE SET revision = excluded.revision, updated = excluded.updated', [scope, to, Date.now()]);
      await this.db.run('INSERT INTO audit (ts, actor, action, scope, from_rev, to_rev, note) VALUES (?,?,?,?,?,?,?)', [Date.now(), audit.actor, audit.action, scope, from, to, audit.note ?? null]);
      return from;
    });
  }

  /** The revision that was active before the current one (rollback's default target). */
  async previous(scope: Scope): Promise<string | null> {
    const current = await this.activeId(scope);
    const row = await this.db.get<{ from_rev: string | null }>('SELECT from_rev FROM audit WHERE scope = ? AND to_rev IS ? AND action IN (\'publish\', \'rollback\') ORDER BY id DESC LIMIT 1', [scope, current]);
    return row?.from_rev ?? null;
  }

  async audit(scope?: Scope, limit = 200): Promise<AuditEntry[]> {
    return scope
      ? this.db.all<AuditEntry>('SELECT * FROM audit WHERE scope = ? ORDER BY id DESC LIMIT ?', [scope, limit])
      : this.db.all<AuditEntry>('SELECT * FROM audit ORDER BY id DESC LIMIT ?', [limit]);
  }
}
