/**
 * The compact boundary for selectProvider: what crosses into QuickJS per call is only what
 * changes per call, and most of it without any parsing.
 *
 * - A candidate's static fields (id, provider, model, price, contextWindow, weight, capabilities)
 *   are installed once per distinct candidate set as a generated builder function inside the
 *   sandbox. It rebuilds the input from object and array literals, so every call gets fresh
 *   objects (nothing a policy does to a candidate reaches the next call) made with define
 *   semantics (nothing a policy does to Object.prototype or Array.prototype affects them).
 * - The per-call numbers and booleans (slot, flags, now, random, each candidate's healthy,
 *   coolingDown, healthScore, latencyMs, the request's token counts and stream flag) are written
 *   by the host straight into a Float64Array shared with the sandbox (boundary.ts), which the
 *   builder reads: no string, no JSON.parse.
 * - The request's strings (model, keyId, entry) are interned: sent once, then referred to by
 *   index. Only the metadata (when not empty), a conversationId and newly interned strings
 *   cross as a short JSON string, `[metadata, conversationId, ...newStrings]`; usually the
 *   string argument is empty.
 *
 * Channel layout (float64 slots):
 *   0 slot, 1 flags (1: conversationId present, 4: reset the string table), 2 now, 3 random,
 *   4 + 4i .. 7 + 4i: candidate i's healthy (0/1), coolingDown (0/1), healthScore, latencyMs
 *   (NaN for null), then R = 4 + 4n: estimatedInputTokens, maxOutputTokens (NaN for null),
 *   stream (0/1), model, keyId (-1 for null), entry (string table indices).
 *
 * Exactness: the fast path is taken only when the input has exactly the shape and the types
 * the gateway builds (plain objects, these keys in this order, booleans where booleans go,
 * finite numbers, strings), so what the policy sees is value for value and key for key what
 * JSON.parse of JSON.stringify(input) gives (-0 is written as 0, a null or non-finite nullable
 * number as null, both as JSON does). Anything else (extra keys, another key order, a NaN
 * healthScore, a huge candidate list) returns null and the caller sends the whole input as
 * JSON, as before.
 */

/** The input keys, in the order the gateway builds them (policies/runtime.ts). */
const INPUT_KEYS = ['request', 'candidates', 'now', 'random'] as const;
/** RequestSummary as core/pipeline/summary.ts builds it; conversationId is optional and last. */
const REQUEST_KEYS = ['model', 'metadata', 'keyId', 'estimatedInputTokens', 'maxOutputTokens', 'stream', 'entry', 'conversationId'] as const;
/** Candidate as core/pipeline/plan.ts builds it (plugins spread it, which keeps the order). */
const CANDIDATE_KEYS = ['id', 'provider', 'model', 'healthy', 'coolingDown', 'healthScore', 'latencyMs', 'price', 'contextWindow', 'weight', 'capabilities'] as const;
/** Price as the config schema parses it; cached_input is optional and last. */
const PRICE_KEYS = ['input', 'output', 'cached_input'] as const;

/** Candidate sets kept installed per sandbox (each a small function in the sandbox heap). */
export const MAX_SETS = 64;
/**
 * Builder source kept installed per sandbox, in chars (the compiled functions take about as
 * much of the policy's heap): 64 sets of 4 candidates fit (~1.3 KB each).
 */
export const MAX_INSTALLED_CHARS = 256 * 1024;
/**
 * A set whose builder is longer takes the JSON path: QuickJS compiles ~6 chars/µs, so this
 * bounds an install to a few ms (about 20 candidates with the gateway's ids).
 */
export const MAX_BUILDER_CHARS = 16 * 1024;
/** Larger candidate lists take the JSON path. */
export const MAX_CANDIDATES = 64;
const MAX_CAPABILITIES = 64;
/** Interned request strings per sandbox (count, and total chars) before the table starts over. */
export const MAX_STRINGS = 1024;
const MAX_STRING_TABLE_CHARS = 64 * 1024;
/** A request with a longer model, keyId or entry takes the JSON path. */
const MAX_STRING_CHARS = 256;

const HEAD = 4;
const DYNAMIC = 4;
const REQUEST_SLOTS = 6;
/** Float64 slots the channel needs. */
export const CHANNEL_SLOTS = HEAD + DYNAMIC * MAX_CANDIDATES + REQUEST_SLOTS;

export const FLAG_CONVERSATION = 1;
export const FLAG_RESET_STRINGS = 4;

/**
 * Compiling a builder costs ~0.2 ms in QuickJS (versus ~45 µs for one whole-JSON call), so a
 * set is installed only the second time it is seen, and installs are rationed: each call earns
 * 1/INSTALL_EVERY of an install, up to INSTALL_BURST banked. A workload that cycles through more
 * sets than MAX_SETS then mostly takes the JSON path instead of compiling on every call.
 */
const INSTALL_EVERY = 32;
const INSTALL_BURST = 16;
/** Candidate-set keys seen once and not installed (bounded; cleared when full). */
const MAX_SEEN = 256;

interface Statics {
  provider: string;
  model: string;
  input: number;
  output: number;
  /** undefined when the price has no cached_input (or it is undefined: JSON drops it). */
  cached: number | undefined;
  contextWindow: number | null;
  weight: number;
  capabilities: string[];
}

interface CandidateSet {
  key: string;
  slot: number;
  ids: string[];
  statics: Statics[];
  /** Length of its builder's source. */
  chars: number;
}

type Obj = Record<string, unknown>;

const ObjectProto = Object.prototype;
const getProto = Object.getPrototypeOf;

/** Where the host writes the per-call numbers (a view over memory shared with the sandbox). */
export interface Channel {
  view(): Float64Array;
}

/**
 * Host-side state of one sandbox context: its installed candidate sets and interned strings.
 * Owned by one VM: a rebuilt context starts with a fresh one.
 */
export class CompactEncoder {
  private readonly sets = new Map<string, CandidateSet>();
  private readonly free: number[] = [];
  private last: CandidateSet | null = null;
  private readonly seen = new Set<string>();
  private credit = INSTALL_BURST;
  private installedChars = 0;
  /** Slots freed since the last install: the next install deletes their builders. */
  private readonly cleared: number[] = [];
  private readonly strings = new Map<string, number>();
  private stringChars = 0;
  private resetStrings = false;
  /** Strings this call adds to the table, in index order. */
  private readonly fresh: string[] = [];
  /** Set by encode() when the call needs a builder installed first: the install call's argument. */
  pendingInstall: string | null = null;
  private pendingSet: CandidateSet | null = null;

  constructor(private readonly channel: Channel) {
    for (let i = MAX_SETS - 1; i >= 0; i--) this.free.push(i);
  }

  /**
   * Writes the per-call numbers into the channel and returns the string argument for the
   * compact entry ('' when there is none), or null when this input must take the JSON path.
   * When `pendingInstall` is set afterwards, the caller runs the install entry with it first and
   * then calls installed() or installFailed().
   */
  encode(input: unknown): string | null {
    // A pending install is always settled by the caller; this only guards the slot count.
    if (this.pendingSet !== null) this.installFailed();
    if (!isPlain(input) || !keysAre(input, INPUT_KEYS, 4)) return null;
    const request = input.request;
    const candidates = input.candidates;
    const now = input.now;
    const random = input.random;
    if (!isFiniteNumber(now) || !isFiniteNumber(random) || !isPlain(request) || !Array.isArray(candidates)) return null;
    const n = candidates.length;
    if (n === 0 || n > MAX_CANDIDATES) return null;
    if (!keysAre(request, REQUEST_KEYS, 7)) return null;
    const { model, metadata, keyId, estimatedInputTokens: est, maxOutputTokens: maxOut, stream, entry } = request;
    if (!isString(model) || !isString(entry) || (keyId !== null && !isString(keyId))) return null;
    if (!isFiniteNumber(est) || (maxOut !== null && typeof maxOut !== 'number') || typeof stream !== 'boolean') return null;
    if (!crossable(metadata)) return null;
    // An own conversationId that is undefined is dropped by JSON, like an absent one.
    const conv = request.conversationId;
    const hasConv = conv !== undefined;
    if (hasConv && !crossable(conv)) return null;

    if (this.credit < INSTALL_BURST) this.credit += 1 / INSTALL_EVERY;
    const F = this.channel.view();
    let set = this.last;
    let hit = set !== null && set.ids.length === n;
    for (let i = 0, k = HEAD; i < n; i++, k += DYNAMIC) {
      const c: unknown = candidates[i];
      if (!isPlain(c) || !keysAre(c, CANDIDATE_KEYS, CANDIDATE_KEYS.length) || typeof c.id !== 'string') return null;
      const { healthy, coolingDown, healthScore, latencyMs } = c;
      if (typeof healthy !== 'boolean' || typeof coolingDown !== 'boolean' || !isFiniteNumber(healthScore)) return null;
      if (latencyMs !== null && typeof latencyMs !== 'number') return null;
      F[k] = healthy ? 1 : 0;
      F[k + 1] = coolingDown ? 1 : 0;
      // + 0 turns -0 into 0, as JSON does; a null or non-finite latency is NaN, read back as null.
      F[k + 2] = healthScore + 0;
      F[k + 3] = latencyMs === null || latencyMs - latencyMs !== 0 ? NaN : latencyMs + 0;
      if (hit && (set!.ids[i] !== c.id || !sameStatics(set!.statics[i]!, c))) hit = false;
    }
    if (!hit) {
      set = this.lookup(candidates as Obj[]);
      if (!set) return null;
    }

    // Everything is checked: only now touch the string table.
    this.fresh.length = 0;
    if (this.strings.size + 3 > MAX_STRINGS || this.stringChars + 3 * MAX_STRING_CHARS > MAX_STRING_TABLE_CHARS) this.clearStrings();
    const m = this.intern(model);
    const kid = keyId === null ? -1 : this.intern(keyId);
    const e = this.intern(entry);
    const R = HEAD + n * DYNAMIC;
    F[0] = set!.slot;
    F[1] = (hasConv ? FLAG_CONVERSATION : 0) | (this.resetStrings ? FLAG_RESET_STRINGS : 0);
    F[2] = now + 0;
    F[3] = random + 0;
    F[R] = est + 0;
    F[R + 1] = maxOut === null || maxOut - maxOut !== 0 ? NaN : maxOut + 0;
    F[R + 2] = stream ? 1 : 0;
    F[R + 3] = m;
    F[R + 4] = kid;
    F[R + 5] = e;
    this.resetStrings = false;
    if (!hasConv && this.fresh.length === 0 && isEmptyObject(metadata)) return '';
    return JSON.stringify([metadata, hasConv ? conv : null, ...this.fresh]);
  }

  /** The pending builder is in the sandbox now. */
  installed(): void {
    const set = this.pendingSet;
    this.pendingInstall = null;
    this.pendingSet = null;
    if (!set) return;
    this.cleared.length = 0;
    this.sets.set(set.key, set);
    this.installedChars += set.chars;
    this.last = set;
  }

  /**
   * Installing failed (the call is then reported as failed, or served as JSON): the slot is
   * free again, and the strings this call interned never reached the sandbox.
   */
  installFailed(): void {
    if (this.pendingSet) this.release(this.pendingSet.slot);
    this.pendingInstall = null;
    this.pendingSet = null;
    this.clearStrings();
  }

  /** Forget everything (the sandbox reported a missing builder: should not happen). */
  reset(): void {
    this.sets.clear();
    this.free.length = 0;
    this.cleared.length = 0;
    for (let i = MAX_SETS - 1; i >= 0; i--) {
      this.free.push(i);
      this.cleared.push(i);
    }
    this.installedChars = 0;
    this.last = null;
    this.pendingInstall = null;
    this.pendingSet = null;
    this.clearStrings();
  }

  /** The set for these candidates (installed, or pending install), or null for the JSON path. */
  private lookup(cs: Obj[]): CandidateSet | null {
    const key = joinIds(cs);
    let set = this.sets.get(key) ?? null;
    if (set && !allStatics(set, cs)) {
      // Same ids, changed config (a price, the capabilities), or a key collision: its builder is stale.
      this.drop(set);
      set = null;
    }
    if (set) {
      // Most recently used last: the first key in the map is the one to evict.
      this.sets.delete(key);
      this.sets.set(key, set);
      this.last = set;
      return set;
    }
    if (!this.seen.has(key)) {
      if (this.seen.size >= MAX_SEEN) this.seen.clear();
      this.seen.add(key);
      return null;
    }
    if (this.credit < 1) return null;
    const fresh = newSet(key, cs);
    if (!fresh) return null;
    const source = builderSource(fresh);
    if (source.length > MAX_BUILDER_CHARS) return null;
    this.seen.delete(key);
    this.credit -= 1;
    fresh.chars = source.length;
    while (this.sets.size > 0 && (this.free.length === 0 || this.installedChars + fresh.chars > MAX_INSTALLED_CHARS)) this.evictOldest();
    fresh.slot = this.free.pop()!;
    this.pendingSet = fresh;
    this.pendingInstall = JSON.stringify([fresh.slot, source, this.cleared]);
    return fresh;
  }

  private intern(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.strings.size;
      this.strings.set(s, i);
      this.stringChars += s.length;
      this.fresh.push(s);
    }
    return i;
  }

  private clearStrings(): void {
    this.strings.clear();
    this.stringChars = 0;
    this.resetStrings = true;
  }

  private evictOldest(): void {
    const oldest = this.sets.values().next();
    if (!oldest.done) this.drop(oldest.value);
  }

  private drop(set: CandidateSet): void {
    this.sets.delete(set.key);
    if (this.last === set) this.last = null;
    this.installedChars -= set.chars;
    this.release(set.slot);
  }

  private release(slot: number): void {
    this.free.push(slot);
    this.cleared.push(slot);
  }
}

function isPlain(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const p: unknown = getProto(v);
  return p === ObjectProto || p === null;
}

/** A plain object with no enumerable keys: JSON '{}', rebuilt as a `{}` literal. */
function isEmptyObject(v: unknown): boolean {
  if (!isPlain(v)) return false;
  for (const _ in v) return false;
  return true;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && v - v === 0;
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_STRING_CHARS;
}

/**
 * True when o's enumerable keys are keys[0..required) in order, optionally followed by the rest
 * of `keys` in order (those are the optional ones). for-in on a plain object walks own keys in
 * insertion order, the same order JSON.stringify writes them.
 */
function keysAre(o: Obj, keys: readonly string[], required: number): boolean {
  let i = 0;
  for (const k in o) {
    if (i >= keys.length || k !== keys[i]) return false;
    i++;
  }
  return i >= required;
}

/**
 * A value that serializes the same as an array element as it does as an object member.
 * JSON.stringify drops undefined, functions and symbols from objects but writes null for them
 * in arrays; everything else (numbers, NaN, nested objects) is written the same either way.
 */
function crossable(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}

function joinIds(cs: Obj[]): string {
  let key = cs[0]!.id as string;
  for (let i = 1; i < cs.length; i++) key += '\n' + (cs[i]!.id as string);
  return key;
}

function sameStatics(s: Statics, c: Obj): boolean {
  if (c.provider !== s.provider || c.model !== s.model || c.contextWindow !== s.contextWindow || c.weight !== s.weight) return false;
  const p = c.price as Obj;
  if (!isPlain(p) || p.input !== s.input || p.output !== s.output || p.cached_input !== s.cached) return false;
  if (!keysAre(p, PRICE_KEYS, 2)) return false;
  const caps = c.capabilities;
  if (!Array.isArray(caps) || caps.length !== s.capabilities.length) return false;
  for (let i = 0; i < caps.length; i++) if (caps[i] !== s.capabilities[i]) return false;
  return true;
}

/** The set's ids (keys can collide: an id may hold the separator) and statics, unchanged. */
function allStatics(set: CandidateSet, cs: Obj[]): boolean {
  if (set.ids.length !== cs.length) return false;
  for (let i = 0; i < cs.length; i++) if (set.ids[i] !== cs[i]!.id || !sameStatics(set.statics[i]!, cs[i]!)) return false;
  return true;
}

/**
 * The statics of a set, or null when some static field is not something the builder can
 * rebuild exactly: the gateway's types (strings, finite numbers, null, an array of strings).
 * Non-finite numbers are left to the JSON path (JSON writes them as null, and NaN never
 * compares equal, so the set would never be found again).
 */
function newSet(key: string, cs: Obj[]): CandidateSet | null {
  const ids: string[] = [];
  const statics: Statics[] = [];
  for (const c of cs) {
    const p = c.price;
    const caps = c.capabilities;
    if (typeof c.provider !== 'string' || typeof c.model !== 'string' || !isFiniteNumber(c.weight)) return null;
    if (c.contextWindow !== null && !isFiniteNumber(c.contextWindow)) return null;
    if (!isPlain(p) || !keysAre(p, PRICE_KEYS, 2) || !isFiniteNumber(p.input) || !isFiniteNumber(p.output)) return null;
    if (p.cached_input !== undefined && !isFiniteNumber(p.cached_input)) return null;
    if (!Array.isArray(caps) || caps.length > MAX_CAPABILITIES) return null;
    for (const cap of caps) if (typeof cap !== 'string') return null;
    ids.push(c.id as string);
    statics.push({
      provider: c.provider,
      model: c.model,
      input: p.input,
      output: p.output,
      cached: p.cached_input as number | undefined,
      contextWindow: c.contextWindow as number | null,
      weight: c.weight,
      capabilities: caps.slice() as string[],
    });
  }
  return { key, slot: -1, ids, statics, chars: 0 };
}

/**
 * A JS literal for a JSON value: JSON text is JS (U+2028/2029 escaped for engines before
 * ES2019); JSON writes -0 as 0, as it does on the JSON path.
 */
function lit(v: unknown): string {
  return JSON.stringify(v).replace(/[\u2028\u2029]/g, (ch) => (ch === '\u2028' ? '\\u2028' : '\\u2029'));
}

/**
 * The builder for one candidate set: `(function (F, a, S) { return input; })`, rebuilding the
 * input from the channel F, the parsed string argument a (null when empty) and the string
 * table S, with the statics as literals. Exported for tests.
 */
export function builderSource(set: Pick<CandidateSet, 'ids' | 'statics'>): string {
  const n = set.ids.length;
  const cands: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = set.statics[i]!;
    const k = HEAD + i * DYNAMIC;
    const price = `{input:${lit(s.input)},output:${lit(s.output)}${s.cached === undefined ? '' : `,cached_input:${lit(s.cached)}`}}`;
    cands.push(
      `{id:${lit(set.ids[i])},provider:${lit(s.provider)},model:${lit(s.model)},healthy:F[${k}]===1,coolingDown:F[${k + 1}]===1,` +
        `healthScore:F[${k + 2}],latencyMs:F[${k + 3}]===F[${k + 3}]?F[${k + 3}]:null,price:${price},` +
        `contextWindow:${lit(s.contextWindow)},weight:${lit(s.weight)},capabilities:${lit(s.capabilities)}}`,
    );
  }
  const R = HEAD + n * DYNAMIC;
  const req =
    `model:S[F[${R + 3}]|0],metadata:a===null?{}:a[0],keyId:F[${R + 4}]<0?null:S[F[${R + 4}]|0],estimatedInputTokens:F[${R}],` +
    `maxOutputTokens:F[${R + 1}]===F[${R + 1}]?F[${R + 1}]:null,stream:F[${R + 2}]===1,entry:S[F[${R + 5}]|0]`;
  return (
    `(function(F,a,S){"use strict";return{request:F[1]&${FLAG_CONVERSATION}?{${req},conversationId:a[1]}:{${req}},` +
    `candidates:[${cands.join(',')}],now:F[2],random:F[3]};})`
  );
}
