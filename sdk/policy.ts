/**
 * The policy authoring surface: what `import { definePolicy } from 'switchyard/sdk'` gives a
 * policy author. Policies run sandboxed (QuickJS), so everything here must stay a pure,
 * dependency-free function: the sandbox provides the same identity `definePolicy` at run time.
 */
import type { OnErrorInput, OnErrorResult, PolicyDecision, PolicyInput } from './types.js';

export interface PolicyDefinition {
  /** Shown in history, dry-run reports and telemetry. */
  name: string;
  /** Orders the candidates for one request. Synchronous and pure: same input, same output. */
  selectProvider(input: PolicyInput): PolicyDecision;
  /** Decides what happens after a failed attempt; without it the core's defaults apply. */
  onError?(input: OnErrorInput): OnErrorResult;
}

/**
 * Identity at run time; exists so the object literal is checked and its method parameters are
 * typed from the SDK without the author writing any annotations.
 */
export function definePolicy<T extends PolicyDefinition>(p: T): T {
  return p;
}
