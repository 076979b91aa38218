/** Compile results and diagnostics: plain data, safe to post across a worker boundary. */

export interface Diagnostic {
  /** The file name the caller passed in (or 'switchyard/sdk' for a problem in the SDK itself). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
}

export type CompileResult =
  | {
      ok: true;
      /** A plain script for the sandbox: evaluating it assigns the policy object to a global. */
      js: string;
      /** sha256 hex of the source: the revision id (its first 12 chars make a short id). */
      hash: string;
      /** The `name` literal of the default export, when it can be read statically. */
      name: string | null;
    }
  | { ok: false; diagnostics: Diagnostic[] };

/** The `file:line:col message` form shared by the CLI, the admin API and the logs. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.message}`;
}
