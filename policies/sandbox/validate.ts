/**
 * Checks what a policy returned before the core acts on it. Returns fresh objects holding only
 * the known fields, so nothing else the policy put in its output travels further.
 */
import type { ErrorAction, OnErrorResult, PolicyDecision, PolicyInput } from '../../sdk/types.js';

export const MAX_REASON_CHARS = 200;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkDecision(v: unknown, input: PolicyInput): Checked<PolicyDecision> {
  if (!isObject(v)) return bad(`expected an object with an order, got ${kind(v)}`);
  const order = v.order;
  if (!Array.isArray(order)) return bad(`order must be an array of candidate ids, got ${kind(order)}`);
  if (order.length === 0) return bad('order is empty');
  const candidates = input.candidates;
  for (let i = 0; i < order.length; i++) {
    const id: unknown = order[i];
    if (typeof id !== 'string') return bad(`order holds a ${kind(id)}, not a candidate id`);
    // Orders are short (at most the candidates): a scan beats allocating a Set per call.
    for (let j = 0; j < i; j++) if (order[j] === id) return bad(`order repeats ${JSON.stringify(id.slice(0, 100))}`);
    if (!isCandidate(candidates, id)) return bad(`order names an unknown candidate ${JSON.stringify(id.slice(0, 100))}`);
  }
  const out: PolicyDecision = { order: order as string[] };
  if (v.reason !== undefined) {
    if (typeof v.reason !== 'string') return bad(`reason must be a string, got ${kind(v.reason)}`);
    out.reason = v.reason.length > MAX_REASON_CHARS ? v.reason.slice(0, MAX_REASON_CHARS) : v.reason;
  }
  if (v.maxAttempts !== undefined) {
    const n = v.maxAttempts;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return bad(`maxAttempts must be a positive integer, got ${show(n)}`);
    out.maxAttempts = n;
  }
  if (v.hedgeAfterMs !== undefined) {
    const n = v.hedgeAfterMs;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return bad(`hedgeAfterMs must be a non-negative number, got ${show(n)}`);
    out.hedgeAfterMs = n;
  }
  return { ok: true, value: out };
}

function isCandidate(candidates: PolicyInput['candidates'], id: string): boolean {
  for (let i = 0; i < candidates.length; i++) if (candidates[i]!.id === id) return true;
  return false;
}

const ACTIONS: readonly ErrorAction[] = ['retry', 'fallback', 'fail'];

export function checkOnError(v: unknown): Checked<OnErrorResult> {
  if (!isObject(v)) return bad(`expected an object with an action, got ${kind(v)}`);
  const action = v.action;
  if (typeof action !== 'string' || !ACTIONS.includes(action as ErrorAction)) {
    return bad(`action must be one of ${ACTIONS.join('|')}, got ${show(action)}`);
  }
  return { ok: true, value: { action: action as ErrorAction } };
}

function bad(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
