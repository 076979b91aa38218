/**
 * Policy compilation, the public entry point: TypeScript source in, a sandbox script plus its
 * revision hash out, or diagnostics as `file:line:col message`.
 */
import { CompileClient } from './client.js';
import type { CompileResult } from './types.js';

export type { CompileResult, Diagnostic } from './types.js';
export { formatDiagnostic } from './types.js';

/**
 * Same as compilePolicy but on the calling thread (CLI `policy check`, scripts). ts-morph is
 * imported lazily so a gateway that only runs policies never loads the compiler here.
 */
export async function compilePolicyInline(source: string, fileName: string): Promise<CompileResult> {
  const { compileSync } = await import('./inline.js');
  return compileSync(source, fileName);
}

const client = new CompileClient(compilePolicyInline);

/** Compiles in the shared worker thread: safe to call from a running gateway. */
export function compilePolicy(source: string, fileName: string): Promise<CompileResult> {
  return client.compile(source, fileName);
}

/** Terminates the compile worker (tests, shutdown); a later compile starts a new one. */
export function closeCompiler(): Promise<void> {
  return client.close();
}
