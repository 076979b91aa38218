/** Schema migrations, in order; each runs once in its own transaction. Append only. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE request_log (
     id TEXT PRIMARY KEY, ts INTEGER NOT NULL, route TEXT NOT NULL, route_mode TEXT NOT NULL,
     provider TEXT, model TEXT, status INTEGER NOT NULL, error_class TEXT, error_code TEXT,
     latency_ms REAL, ttft_ms REAL, input_tokens INTEGER, output_tokens INTEGER, usage_estimated INTEGER,
     cost_usd REAL, attempts TEXT NOT NULL, key_id TEXT, stream INTEGER NOT NULL, entry TEXT);
   CREATE INDEX request_log_ts ON request_log (ts);
   CREATE TABLE revisions (
     id TEXT NOT NULL, scope TEXT NOT NULL, name TEXT, source TEXT NOT NULL, compiled TEXT,
     author TEXT, note TEXT, created INTEGER NOT NULL, PRIMARY KEY (scope, id));
   CREATE TABLE active (scope TEXT PRIMARY KEY, revision TEXT, updated INTEGER NOT NULL);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
     scope TEXT NOT NULL, from_rev TEXT, to_rev TEXT, note TEXT);
   CREATE TABLE captures (
     id TEXT PRIMARY KEY, ts INTEGER NOT NULL, route TEXT NOT NULL, input TEXT NOT NULL,
     decision TEXT NOT NULL, outcome TEXT NOT NULL, bodies TEXT);
   CREATE INDEX captures_ts ON captures (ts)`,
  // How a request ended when its status cannot say: a client that left, or a stream the upstream
  // cut after content (both keep the 200 the client was sent). Older rows read as neither.
  `ALTER TABLE request_log ADD COLUMN client_aborted INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE request_log ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0`,
];
