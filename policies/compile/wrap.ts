/**
 * Turns the compiler's CommonJS output into a plain script for QuickJS. The policy sees a
 * `require` that only knows 'switchyard/sdk' (the compile step already rejected every other
 * import), and the default export ends up on one well-known global the sandbox reads and
 * deletes. CommonJS emit is used because TypeScript then rewrites every export form for us,
 * rather than us pattern-matching `export default` in emitted text.
 */
import { version } from '../../sdk/index.js';

/** Global the compiled script assigns the policy object to; the sandbox deletes it after reading. */
export const POLICY_GLOBAL = '__switchyard_policy';

export const SDK_MODULE = 'switchyard/sdk';

export function wrapCommonJs(cjs: string): string {
  return [
    `globalThis.${POLICY_GLOBAL} = (function () {`,
    '"use strict";',
    'var module = { exports: {} }, exports = module.exports;',
    `var sdk = { definePolicy: function definePolicy(p) { return p; }, version: ${JSON.stringify(version)} };`,
    'function require(id) {',
    `  if (id === ${JSON.stringify(SDK_MODULE)}) return sdk;`,
    '  throw new Error("not available in the policy sandbox: " + id);',
    '}',
    cjs,
    'return module.exports.default;',
    '})();',
    '',
  ].join('\n');
}
