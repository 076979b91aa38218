import type { Db } from '../../core/store/db.js';
import type { Capture } from './types.js';

interface Row {
  id: string;
  ts: number;
  route: string;
  input: string;
  decision: string;
  outcome: string;
  bodies: string | null;
}

const toCapture = (r: Row): Capture => ({ id: r.id, ts: r.ts, route: r.route, input: JSON.parse(r.input), decision: JSON.parse(r.decision), outcome: JSON.parse(r.outcome), bodies: r.bodies ? JSON.parse(r.bodies) : null });

/** Read captures back (newest window first by time), for replay and export. */
export async function readCaptures(db: Db, opts: { since?: number; limit?: number } = {}): Promise<Capture[]> {
  const rows = await db.all<Row>('SELECT * FROM captures WHERE ts >= ? ORDER BY ts ASC LIMIT ?', [opts.since ?? 0, opts.limit ?? 10_000_000]);
  return rows.map(toCapture);
}

export async function importCaptures(db: Db, captures: Capture[]): Promise<number> {
  let n = 0;
  await db.tx(async () => {
    for (const c of captures) {
      const r = await db.run('INSERT OR IGNORE INTO captures (id, ts, route, input, decision, outcome, bodies) VALUES (?,?,?,?,?,?,?)', [c.id, c.ts, c.route, JSON.stringify(c.input), JSON.stringify(c.decision), JSON.stringify(c.outcome), c.bodies ? JSON.stringify(c.bodies) : null]);
      n += r.changes;
    }
  });
  return n;
}

/** "15m", "2h", "7d", "30s" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration "${s}" (use e.g. 30m, 2h, 7d)`);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}
