/**
 * The SDK declarations policies are type-checked against, served to the in-memory compiler.
 * Read from disk next to this module so they never drift from the published SDK: from dist/
 * that is dist/sdk/*.d.ts; from source (tests under a TS loader) it is sdk/*.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the SDK lives in the compiler's in-memory file system. */
export const SDK_VIRTUAL_DIR = '/node_modules/switchyard/sdk';
export const SDK_VIRTUAL_INDEX = `${SDK_VIRTUAL_DIR}/index.ts`;

/**
 * Only the policy half of the SDK: a policy that imports plugin APIs should fail to type-check.
 * `version` is declared here because the sandbox's sdk shim provides it too.
 */
const MODULES = ['types', 'policy'] as const;

export interface VirtualFile {
  path: string;
  text: string;
}

let cached: VirtualFile[] | null = null;

export function sdkFiles(): VirtualFile[] {
  if (cached) return cached;
  const dir = new URL('../../sdk/', import.meta.url);
  // One flavour for all modules, so a half-built dist/ cannot mix old and new declarations.
  const ext = MODULES.every((m) => existsSync(new URL(`${m}.d.ts`, dir))) ? '.d.ts' : '.ts';
  const files = MODULES.map((m) => {
    const url = new URL(`${m}${ext}`, dir);
    if (!existsSync(url)) throw new Error(`switchyard SDK not found: ${fileURLToPath(url)}`);
    return { path: `${SDK_VIRTUAL_DIR}/${m}${ext}`, text: readFileSync(url, 'utf8') };
  });
  files.push({
    path: SDK_VIRTUAL_INDEX,
    text: `${MODULES.map((m) => `export * from './${m}.js';`).join('\n')}\nexport declare const version: string;\n`,
  });
  cached = files;
  return files;
}
