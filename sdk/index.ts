/**
 * `switchyard/sdk`: the only import a policy may have, and what plugin authors import.
 * Policies are type-checked against the policy half only (types + definePolicy).
 */
export * from './types.js';
export * from './policy.js';
export * from './plugin.js';

export const version = '0.1.0';
