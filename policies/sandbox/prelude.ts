/**
 * JavaScript evaluated inside each QuickJS context *before* the policy, so the policy can never
 * capture the real clock or the engine's random generator. It evaluates to a `load(source)`
 * function; `load` runs the policy script (indirect eval: same as a global script) and returns
 * the per-call entry points, or a marker string when the script fails.
 *
 * Entry points take one string and return one string: the output JSON, or a marker starting
 * with '!' (never valid JSON) that the host turns into an error. Catching and describing errors
 * in here keeps the boundary to one string each way, and keeps any policy code an error
 * description might run (getters, toString) under the interrupt deadline.
 *
 * `load` returns [select, onError, name, selectCompact, install, attach]:
 * - select / onError take the whole input as JSON.
 * - attach takes the ArrayBuffer shared with the host (the channel, see encode.ts) and returns
 *   its first slot as a string, so the host can check that the memory really is shared.
 * - install takes `[slot, builderSource, clearedSlots]` and keeps the builder in a closure the policy cannot
 *   reach; selectCompact takes the per-call string (usually '') and rebuilds the input with the
 *   slot's builder from the channel, the string and the interned strings. The builders are our
 *   code, compiled with the eval captured here, and use only literals, so nothing the policy
 *   changes in its globals or prototypes affects them. The channel, the builders and the string
 *   table are reachable from nothing the policy can reach.
 */
import { POLICY_GLOBAL } from '../compile/wrap.js';
import { FLAG_RESET_STRINGS } from './encode.js';

/** Markers returned by the entry points instead of output JSON. */
export const MARK = {
  /** '!m' the policy ran out of memory (a catchable InternalError in QuickJS). */
  oom: '!m',
  /** '!t<message>' the policy threw. */
  threw: '!t',
  /** '!u' the output is not JSON-serializable to a value (undefined, a function). */
  undef: '!u',
  /** '!j<message>' JSON.stringify threw (cycles, BigInt, a throwing toJSON). */
  json: '!j',
  /** '!b<length>' the output JSON is over the size cap. */
  big: '!b',
  /** '!s' selectCompact found no builder in the slot (host and sandbox out of step). */
  slot: '!s',
} as const;

/** What install returns when the builder is in place. */
export const INSTALLED = 'ok';

export function preludeSource(maxOutputChars: number): string {
  return `(function () {
"use strict";
var G = globalThis, RealDate = G.Date, parse = JSON.parse, stringify = JSON.stringify;
var imul = Math.imul, apply = Reflect.apply, construct = Reflect.construct, bind = Function.prototype.bind;
var defineProperty = Object.defineProperty, create = Object.create, indirectEval = G.eval;
var IntErr = G.InternalError, ErrorCtor = G.Error, StringCtor = G.String, TypeErr = G.TypeError;
var F64 = G.Float64Array;
var nowMs = 0, seed = 0;
// The compact boundary (encode.ts): the channel, candidate-set builders by slot, interned
// strings by index. Null prototypes, so no inherited setter sees an assignment.
var F = null, builders = create(null), S = create(null), nS = 0;

// mulberry32: tiny, fast, and fully determined by the per-call seed.
function random() {
  seed = (seed + 0x6D2B79F5) | 0;
  var t = imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
// A Date whose "now" is the decision's input.now; with arguments it is the real Date.
function Date(a, b, c, d, e, f, g) {
  if (new.target === undefined) return new RealDate(nowMs).toString();
  return construct(RealDate, arguments.length === 0 ? [nowMs] : arguments, new.target);
}
Date.prototype = RealDate.prototype;
Date.now = function now() { return nowMs; };
Date.parse = RealDate.parse;
Date.UTC = RealDate.UTC;
// Otherwise new (new Date(0)).constructor() would reach the real clock.
defineProperty(RealDate.prototype, "constructor", { value: Date, writable: true, configurable: true });
defineProperty(G, "Date", { value: Date, writable: true, configurable: true });
defineProperty(Math, "random", { value: random, writable: true, configurable: true });

// Run the engine paths every call takes (JSON both ways, array callbacks, sort) once now: the
// first use of WASM code compiles it, which must not count against a call's deadline.
stringify(parse('{"a":[{"id":"x","n":1.5,"b":true,"c":null,"p":{"i":0.1}}]}').a.filter(function (c) { return c.b; })
  .map(function (c) { return c.id; }).sort(function (x, y) { return x < y ? -1 : 1; }));

function isOom(e) { return IntErr !== undefined && e instanceof IntErr && e.message === "out of memory"; }
function describe(e) {
  try {
    var s = e instanceof ErrorCtor ? StringCtor(e.name) + ": " + StringCtor(e.message) : "thrown: " + StringCtor(e);
    return s.length > 500 ? s.slice(0, 500) : s;
  } catch (_) { return "thrown: (unprintable value)"; }
}

return function load(source) {
  try {
    indirectEval(source);
    var P = G.${POLICY_GLOBAL};
    delete G.${POLICY_GLOBAL};
    if (P === null || (typeof P !== "object" && typeof P !== "function") || typeof P.selectProvider !== "function") {
      throw new TypeErr("the policy script must export default definePolicy({ name, selectProvider })");
    }
    var onError = P.onError, name = P.name;
    // Bound once (with the bind captured above): calling a bound function costs a third of Reflect.apply.
    var select = apply(bind, P.selectProvider, [P]);
    onError = typeof onError === "function" ? apply(bind, onError, [P]) : null;
    return [entry(select), onError === null ? null : entry(onError), typeof name === "string" ? name : null,
      compactEntry(select), install, attach];
  } catch (e) {
    return isOom(e) ? "${MARK.oom}" : "${MARK.threw}" + describe(e);
  }
};

function entry(fn) {
  return function (json) { return invoke(fn, parse(json)); };
}

function compactEntry(fn) {
  return function (s) {
    var a = null, i;
    if (F[1] & ${FLAG_RESET_STRINGS}) { S = create(null); nS = 0; }
    if (s !== "") { a = parse(s); for (i = 2; i < a.length; i++) S[nS++] = a[i]; }
    // Indices as int32 ("| 0"): a float64 key is converted through its string form.
    var build = builders[F[0] | 0];
    if (typeof build !== "function") return "${MARK.slot}";
    return invoke(fn, build(F, a, S));
  };
}

function attach(ab) {
  F = new F64(ab);
  return "" + F[0];
}

function install(s) {
  try {
    var a = parse(s), build = indirectEval(a[1]), cleared = a[2], i;
    if (typeof build !== "function") return "${MARK.threw}builder is not a function";
    for (i = 0; i < cleared.length; i++) delete builders[cleared[i]];
    builders[a[0]] = build;
    return "${INSTALLED}";
  } catch (e) {
    return isOom(e) ? "${MARK.oom}" : "${MARK.threw}" + describe(e);
  }
}

function invoke(fn, input) {
  var out, s;
  // Per call, so a replay of the same input sees the same clock and the same random stream.
  nowMs = input.now;
  seed = (input.random * 4294967296) >>> 0;
  try { out = fn(input); }
  catch (e) { return isOom(e) ? "${MARK.oom}" : "${MARK.threw}" + describe(e); }
  try { s = stringify(out); }
  catch (e) { return isOom(e) ? "${MARK.oom}" : "${MARK.json}" + describe(e); }
  if (typeof s !== "string") return "${MARK.undef}";
  if (s.length > ${maxOutputChars}) return "${MARK.big}" + s.length;
  return s;
}
})()`;
}
