/**
 * One string in, one string out: calls an entry point of the prelude.
 *
 * quickjs-emscripten's public API costs several µs per call for what is three FFI calls:
 * newString measures the string in JS, copies it with emscripten's per-character encoder into a
 * fresh malloc, and wraps every pointer in a Lifetime; callFunction mallocs an argv array per
 * call. The raw path below does the same FFI calls (QTS_NewString, QTS_Call, QTS_GetString, and
 * the matching frees) with one reusable input buffer and argv slot per context, and
 * TextEncoder.encodeInto/TextDecoder for the copies: ~1.5 µs less per call for a 200-byte
 * argument, ~7 µs less for a 1.2 KB one.
 *
 * It reaches into the library's FFI object (documented as unstable), so it is feature-checked
 * when a context is built and the public API is used when anything is missing.
 *
 * Strings crossing here are always JSON text written by JSON.stringify, so they hold no NUL
 * and no lone surrogate: the UTF-8 copy is exact.
 *
 * The raw path also opens the channel of the compact boundary (encode.ts): a buffer malloc'd
 * in the module and handed to QuickJS as an ArrayBuffer that owns it (QTS_NewArrayBuffer does
 * not copy), so the host writes per-call numbers where the sandbox reads them. Only the
 * prelude holds that ArrayBuffer; that it is really shared is checked when it is opened.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import type { Channel } from './encode.js';
import type { WasmMemory } from './modules.js';

/** An entry point's result: its string, or null when it ended with an uncaught error (an interrupt, or out of memory). */
export type EntryResult = string | null;

export interface Boundary {
  /** Throws when the WASM call itself fails (host stack overflow, module abort) or memory runs out on the host side. */
  call(fn: QuickJSHandle, arg: string): EntryResult;
  /**
   * Shares a buffer of `slots` float64s with the sandbox: `attach` (the prelude's) receives it
   * as an ArrayBuffer. null when this boundary cannot (then the compact boundary is off).
   */
  openChannel(attach: QuickJSHandle, slots: number): Channel | null;
  /** Frees what the boundary allocated (only on a healthy module). */
  dispose(): void;
}

/** Thrown when the module has no memory left for the argument. */
export class BoundaryOutOfMemory extends Error {
  constructor() {
    super('out of memory in the sandbox module');
  }
}

interface RawFfi {
  QTS_NewString(ctx: number, str: number): number;
  QTS_Call(ctx: number, fn: number, thisVal: number, argc: number, argv: number): number;
  QTS_ResolveException(ctx: number, maybeException: number): number;
  QTS_GetString(ctx: number, value: number): number;
  QTS_FreeCString(ctx: number, str: number): void;
  QTS_FreeValuePointer(ctx: number, value: number): void;
  /** Optional: without it there is no channel. */
  QTS_NewArrayBuffer?(ctx: number, buffer: number, length: number): number;
}

interface RawModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** The module's view of its memory: must be over the memory we were given. */
  HEAPU8: Uint8Array;
}

/** What the raw path reads off a QuickJSContext (protected members in the typings). */
interface RawContext {
  ffi?: Partial<RawFfi>;
  module?: Partial<RawModule>;
  ctx?: { value?: unknown };
}

const FFI_NAMES = ['QTS_NewString', 'QTS_Call', 'QTS_ResolveException', 'QTS_GetString', 'QTS_FreeCString', 'QTS_FreeValuePointer'] as const;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The fastest boundary this context supports (`raw: false`: the public API, for tests). */
export function newBoundary(context: QuickJSContext, memory: WasmMemory, o: { raw?: boolean } = {}): Boundary {
  if (o.raw === false) return new PublicBoundary(context);
  const raw = context as unknown as RawContext;
  const ffi = raw.ffi;
  const mod = raw.module;
  const ctx = raw.ctx?.value;
  const usable =
    ffi !== undefined &&
    mod !== undefined &&
    typeof ctx === 'number' &&
    typeof mod._malloc === 'function' &&
    typeof mod._free === 'function' &&
    mod.HEAPU8?.buffer === memory.buffer &&
    FFI_NAMES.every((n) => typeof ffi[n] === 'function');
  if (!usable) return new PublicBoundary(context);
  return new RawBoundary(ffi as RawFfi, mod as RawModule, ctx, context.undefined.value as unknown as number, memory);
}

/** Through quickjs-emscripten's public API. */
class PublicBoundary implements Boundary {
  constructor(private readonly context: QuickJSContext) {}

  call(fn: QuickJSHandle, arg: string): EntryResult {
    const ctx = this.context;
    const h = ctx.newString(arg);
    const r = ctx.callFunction(fn, ctx.undefined, h);
    h.dispose();
    if (r.error) {
      r.error.dispose();
      return null;
    }
    const out = ctx.getString(r.value);
    r.value.dispose();
    return out;
  }

  openChannel(): Channel | null {
    return null;
  }

  dispose(): void {}
}

/** What attach must answer: proof that a value written after the ArrayBuffer exists is seen inside. */
const SENTINEL = 1234.5;

class SharedChannel implements Channel {
  private f: Float64Array;

  constructor(
    private readonly memory: WasmMemory,
    private readonly ptr: number,
    private readonly slots: number,
  ) {
    this.f = new Float64Array(memory.buffer, ptr, slots);
  }

  view(): Float64Array {
    // A grown memory detaches the old buffer (length 0): view the new one.
    if (this.f.byteLength === 0) this.f = new Float64Array(this.memory.buffer, this.ptr, this.slots);
    return this.f;
  }
}

const INITIAL_BUFFER = 4096;

class RawBoundary implements Boundary {
  /** Input buffer (NUL-terminated UTF-8) and the one-slot argv, both malloc'd in the module. */
  private buf = 0;
  private cap = 0;
  private argv = 0;
  /** Views over the module memory; rebuilt when the memory grows (the old buffer detaches). */
  private heap: Uint8Array | null = null;
  private input: Uint8Array | null = null;
  private argvView: Int32Array | null = null;

  constructor(
    private readonly ffi: RawFfi,
    private readonly mod: RawModule,
    private readonly ctx: number,
    private readonly undef: number,
    private readonly memory: WasmMemory,
  ) {}

  call(fn: QuickJSHandle, arg: string): EntryResult {
    const ffi = this.ffi;
    const ctx = this.ctx;
    if (this.buf === 0) this.alloc(INITIAL_BUFFER);
    this.views();
    let r = textEncoder.encodeInto(arg, this.input!);
    if (r.read < arg.length) {
      // UTF-16 unit -> at most 3 UTF-8 bytes.
      this.alloc(arg.length * 3 + 1);
      this.views();
      r = textEncoder.encodeInto(arg, this.input!);
    }
    this.heap![this.buf + r.written] = 0;
    const str = ffi.QTS_NewString(ctx, this.buf);
    if (str === 0) throw new BoundaryOutOfMemory();
    // When the call throws, the module is dropped whole: nothing to free then.
    const out = this.callWith(fn.value as unknown as number, str);
    ffi.QTS_FreeValuePointer(ctx, str);
    return out;
  }

  openChannel(attach: QuickJSHandle, slots: number): Channel | null {
    const newArrayBuffer = this.ffi.QTS_NewArrayBuffer;
    if (typeof newArrayBuffer !== 'function') return null;
    const bytes = slots * 8;
    const ptr = this.mod._malloc(bytes);
    if (ptr === 0) return null;
    if (ptr % 8 !== 0) {
      this.mod._free(ptr);
      return null;
    }
    const ab = newArrayBuffer.call(this.ffi, this.ctx, ptr, bytes);
    if (ab === 0) {
      this.mod._free(ptr);
      return null;
    }
    // From here the ArrayBuffer owns ptr: QuickJS frees it with the buffer.
    new Float64Array(this.memory.buffer, ptr, slots)[0] = SENTINEL;
    const seen = this.callWith(attach.value as unknown as number, ab);
    this.ffi.QTS_FreeValuePointer(this.ctx, ab);
    return seen === String(SENTINEL) ? new SharedChannel(this.memory, ptr, slots) : null;
  }

  /** fn(arg) for a JSValue pointer argument; the caller frees arg. */
  private callWith(fn: number, arg: number): EntryResult {
    const ffi = this.ffi;
    const ctx = this.ctx;
    if (this.argv === 0) {
      this.argv = this.mod._malloc(4);
      if (this.argv === 0) throw new BoundaryOutOfMemory();
      this.heap = null;
    }
    this.views();
    this.argvView![this.argv >> 2] = arg;
    const res = ffi.QTS_Call(ctx, fn, this.undef, 1, this.argv);
    if (res === 0) throw new BoundaryOutOfMemory();
    const err = ffi.QTS_ResolveException(ctx, res);
    if (err !== 0) {
      ffi.QTS_FreeValuePointer(ctx, res);
      ffi.QTS_FreeValuePointer(ctx, err);
      return null;
    }
    const cstr = ffi.QTS_GetString(ctx, res);
    if (cstr === 0) {
      ffi.QTS_FreeValuePointer(ctx, res);
      throw new BoundaryOutOfMemory();
    }
    this.views();
    const heap = this.heap!;
    const end = heap.indexOf(0, cstr);
    const out = textDecoder.decode(heap.subarray(cstr, end < 0 ? heap.length : end));
    ffi.QTS_FreeCString(ctx, cstr);
    ffi.QTS_FreeValuePointer(ctx, res);
    return out;
  }

  dispose(): void {
    if (this.buf !== 0) this.mod._free(this.buf);
    if (this.argv !== 0) this.mod._free(this.argv);
    this.buf = this.argv = this.cap = 0;
    this.heap = this.input = null;
    this.argvView = null;
  }

  private alloc(bytes: number): void {
    if (this.buf !== 0) this.mod._free(this.buf);
    this.buf = 0;
    this.cap = 0;
    const cap = Math.max(INITIAL_BUFFER, bytes);
    const buf = this.mod._malloc(cap);
    if (buf === 0) throw new BoundaryOutOfMemory();
    this.buf = buf;
    this.cap = cap;
    this.heap = null;
  }

  /**
   * (Re)creates the views when the memory grew (growing detaches the old buffer, so a view's
   * length drops to 0: cheaper to test than reading WebAssembly.Memory#buffer every time).
   */
  private views(): void {
    if (this.heap !== null && this.heap.byteLength !== 0) return;
    const buffer = this.memory.buffer;
    this.heap = new Uint8Array(buffer);
    // One byte short of the buffer: room for the terminating NUL.
    this.input = this.cap > 0 ? new Uint8Array(buffer, this.buf, this.cap - 1) : null;
    this.argvView = new Int32Array(buffer);
  }
}
