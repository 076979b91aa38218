/**
 * Runs one compiled policy revision in QuickJS: one warm runtime + context, evaluated once and
 * reused for every call. No host functions are exposed. One string in, one string out (the
 * decision as JSON), through boundary.ts. selectProvider inputs of the gateway's shape cross
 * compactly (encode.ts: candidate sets installed once, per-call numbers through memory shared
 * with the sandbox, fresh objects rebuilt inside every call); anything else, and onError,
 * crosses as whole JSON. The policy sees the same input either way.
 *
 * Containment, per failure:
 * - throw / junk output: reported, the context keeps serving.
 * - timeout (interrupt handler past the per-call deadline): the context is rebuilt, since the
 *   policy may have been stopped halfway through changing its own state.
 * - out of memory, or a host exception out of WASM (V8's stack can overflow before QuickJS's own
 *   stack check does): the module is dropped without disposing anything and the sandbox is
 *   rebuilt on a spare module (see modules.ts). Same after a call that grew the module's memory
 *   close to its cap, before the next call's input can fail to fit.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten';
import type { OnErrorInput, OnErrorResult, PolicyDecision, PolicyInput } from '../../sdk/types.js';
import { acquireModule, type LoadedModule, loadModule, spareReady, takeSpareModule } from './modules.js';
import { type Boundary, BoundaryOutOfMemory, newBoundary } from './boundary.js';
import { CHANNEL_SLOTS, type Channel, CompactEncoder } from './encode.js';
import { INSTALLED, MARK, preludeSource } from './prelude.js';
import { type Checked, checkDecision, checkOnError } from './validate.js';

export interface SandboxOptions {
  /**
   * Heap limit. Default 8 MiB. Enforced as the growth allowed to the module's WASM memory beyond
   * its fixed initial 16 MiB (see modules.ts), and given to QuickJS's own limit too.
   */
  memoryLimitBytes?: number;
  /**
   * QuickJS stack limit. Default 64 KiB (~340 frames of plain recursion). Larger limits let
   * V8's own stack, which holds the WASM frames, overflow before QuickJS notices (at 512 KiB
   * plain recursion does; at 128 KiB a deeply nested JSON.stringify does), which costs the
   * module. Smaller also bounds how long a recursion that keeps catching its own stack overflow
   * runs before the interrupt handler is polled again (each throw builds a full backtrace).
   */
  stackLimitBytes?: number;
  /** Per-call deadline enforced by the interrupt handler. Default 5 ms. */
  callDeadlineMs?: number;
  /** Deadline for evaluating the policy script itself. Default 250 ms. */
  initDeadlineMs?: number;
  /** Output JSON larger than this (in UTF-16 units) is invalid_output. Default 64 KiB. */
  maxOutputChars?: number;
  /**
   * Send selectProvider only what changes per call, with candidate sets installed once
   * (encode.ts). Default true; false sends every input as whole JSON. The policy sees the same
   * input either way.
   */
  compactBoundary?: boolean;
}

/** How selectProvider calls crossed the boundary so far (see encode.ts). */
export interface BoundaryStats {
  /** Calls sent as the per-call numbers and strings only. */
  compact: number;
  /** Calls sent as whole JSON (an input of another shape, a set seen for the first time, ...). */
  json: number;
  /** Candidate-set builders compiled into the sandbox. */
  installs: number;
}

export type SandboxErrorKind = 'throw' | 'timeout' | 'oom' | 'invalid_output';

export type SandboxResult<T> =
  | { ok: true; value: T; us: number }
  | { ok: false; error: SandboxErrorKind; message: string; us: number };

/** Why a policy script could not be loaded at all (its top level threw, looped or ran out of memory). */
export class PolicyLoadError extends Error {
  constructor(
    readonly kind: Exclude<SandboxErrorKind, 'invalid_output'>,
    message: string,
  ) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

interface Vm {
  loaded: LoadedModule;
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  select: QuickJSHandle;
  onError: QuickJSHandle | null;
  /** selectProvider through the compact boundary (encode.ts), and its builder installer. */
  compact: QuickJSHandle;
  install: QuickJSHandle;
  /** The compact boundary's state for this context; null when the boundary has no channel. */
  encoder: CompactEncoder | null;
  /** How calls cross into this context (boundary.ts). */
  boundary: Boundary;
  name: string | null;
}

type Limits = Required<SandboxOptions>;

const DEFAULTS: Limits = {
  memoryLimitBytes: 8 * 1024 * 1024,
  stackLimitBytes: 64 * 1024,
  callDeadlineMs: 5,
  initDeadlineMs: 250,
  maxOutputChars: 64 * 1024,
  compactBoundary: true,
};

/** Recycle the module after a call that left less than this much of its memory cap unused. */
const RECYCLE_HEADROOM_BYTES = 2 * 1024 * 1024;

/** Raised inside build(); `poisoned` means the module must be dropped, not disposed. */
class BuildFailure extends Error {
  constructor(
    readonly kind: PolicyLoadError['kind'],
    message: string,
    readonly poisoned: boolean,
  ) {
    super(message);
  }
}

export class PolicySandbox {
  private vm: Vm | null;
  private disposed = false;
  /** Set while the sandbox waits for a fresh module after a fatal error. */
  private reloading: Promise<void> | null = null;
  /** Set when a rebuild failed for good; every call then reports it. */
  private broken: string | null = null;
  /** performance.now() after which the interrupt handler stops the running code. */
  private deadline = Infinity;
  private interrupted = false;
  private readonly prelude: string;
  private readonly stats: BoundaryStats = { compact: 0, json: 0, installs: 0 };
  /** Whether the policy defines onError (fixed at load). */
  readonly hasOnError: boolean;
  /** The policy object's `name`, when it is a string. */
  readonly name: string | null;

  private constructor(
    private readonly js: string,
    private readonly limits: Limits,
    loaded: LoadedModule,
  ) {
    this.prelude = preludeSource(limits.maxOutputChars);
    try {
      this.vm = this.build(loaded);
    } catch (err) {
      if (err instanceof BuildFailure) throw new PolicyLoadError(err.kind, err.message);
      throw err;
    }
    this.hasOnError = this.vm.onError !== null;
    this.name = this.vm.name;
  }

  /** Loads a compiled policy script (see policies/compile). Rejects with PolicyLoadError. */
  static async create(js: string, opts: SandboxOptions = {}): Promise<PolicySandbox> {
    const limits = { ...DEFAULTS, ...definedOnly(opts) };
    return new PolicySandbox(js, limits, await acquireModule(limits.memoryLimitBytes));
  }

  /**
   * create(), with a load that ran past its deadline tried again (up to 3 times): a busy
   * machine, or WASM code still compiling, can push a healthy policy's first load past it; a
   * top level that really loops fails every time. For checks before a pointer moves and replays.
   */
  static async load(js: string, opts: SandboxOptions = {}): Promise<PolicySandbox> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await PolicySandbox.create(js, opts);
      } catch (err) {
        if (!(err instanceof PolicyLoadError && err.kind === 'timeout' && attempt < 3)) throw err;
      }
    }
  }

  selectProvider(input: PolicyInput): SandboxResult<PolicyDecision> {
    return this.call('select', input, (v) => checkDecision(v, input));
  }

  /** null when the policy has no onError: the core's defaults apply. */
  onError(input: OnErrorInput): SandboxResult<OnErrorResult> | null {
    if (!this.hasOnError) return null;
    return this.call('onError', input, checkOnError);
  }

  /** How selectProvider calls crossed the boundary so far. */
  boundaryStats(): BoundaryStats {
    return { ...this.stats };
  }

  /** Resolves when the sandbox can serve again after a fatal error (immediately if it can now). */
  async ready(): Promise<void> {
    while (this.reloading) await this.reloading;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const vm = this.vm;
    this.vm = null;
    if (vm) release(vm);
  }

  private call<T>(fn: 'select' | 'onError', input: object, check: (v: unknown) => Checked<T>): SandboxResult<T> {
    const t0 = performance.now();
    if (this.disposed) throw new Error('PolicySandbox used after dispose()');
    const vm = this.vm;
    if (!vm) {
      const why = this.broken ?? 'reloading after a fatal error';
      return fail('throw', `policy sandbox unavailable: ${why}`, t0);
    }
    const out = fn === 'select' ? this.runSelect(vm, input as PolicyInput, t0) : this.run(vm, vm.onError!, JSON.stringify(input), t0);
    // An allocation failure does not always surface as "out of memory" (QuickJS may have no
    // memory left to build the error and throws null instead): a memory grown close to its cap
    // means the policy exhausted it either way. It also means the next call's input might not
    // fit, so the module is replaced now.
    const exhausted = this.vm === vm && nearCap(vm);
    if (exhausted) this.recover(true);

    if (typeof out !== 'string') return fail(exhausted ? 'oom' : out.error, exhausted ? 'policy ran out of memory' : out.message, t0);
    if (out.charCodeAt(0) === 33 /* '!' */) return this.marked(out, exhausted, t0);
    let value: unknown;
    try {
      value = JSON.parse(out);
    } catch {
      return fail('invalid_output', 'policy output is not JSON', t0);
    }
    const checked = check(value);
    if (!checked.ok) return fail('invalid_output', checked.message, t0);
    return { ok: true, value: checked.value, us: since(t0) };
  }

  /**
   * selectProvider through the compact boundary when the input has the gateway's shape
   * (installing its candidate set's builder first when the set is new), else as whole JSON.
   */
  private runSelect(vm: Vm, input: PolicyInput, t0: number): string | { error: SandboxErrorKind; message: string } {
    const enc = vm.encoder;
    const compact = enc === null ? null : enc.encode(input);
    if (enc === null || compact === null) return this.runJson(vm, input, t0);
    let start = t0;
    if (enc.pendingInstall !== null) {
      // Compiling the builder is our work, not the policy's: it gets the load deadline.
      const r = this.run(vm, vm.install, enc.pendingInstall, t0, this.limits.initDeadlineMs);
      if (r !== INSTALLED) {
        enc.installFailed();
        if (typeof r !== 'string') {
          // Interrupted (the context was rebuilt): serve this call as JSON on the new one.
          // Out of memory or a crash (already recovered from): that is this call's result.
          if (r.error === 'timeout' && this.vm) return this.runJson(this.vm, input);
          return r;
        }
        if (r === MARK.oom) return r;
        // Our builder did not load (a bug, not the policy's doing): serve this call as JSON.
        return this.runJson(vm, input);
      }
      enc.installed();
      this.stats.installs++;
      // The call itself gets a deadline of its own.
      start = performance.now();
    }
    this.stats.compact++;
    const out = this.run(vm, vm.compact, compact, start);
    if (out !== MARK.slot) return out;
    this.stats.compact--;
    enc.reset();
    return this.runJson(vm, input);
  }

  private runJson(vm: Vm, input: PolicyInput, start?: number): string | { error: SandboxErrorKind; message: string } {
    this.stats.json++;
    return this.run(vm, vm.select, JSON.stringify(input), start);
  }

  /**
   * One call into the VM: the entry's string result, or a failure that has already been
   * recovered from. The deadline runs from `start` (the call's start, to save reading the clock).
   */
  private run(vm: Vm, entry: QuickJSHandle, arg: string, start = performance.now(), deadlineMs = this.limits.callDeadlineMs): string | { error: SandboxErrorKind; message: string } {
    try {
      this.interrupted = false;
      this.deadline = start + deadlineMs;
      const out = vm.boundary.call(entry, arg);
      this.deadline = Infinity;
      if (out !== null) return out;
      // The entry point catches everything catchable, so this is an interrupt, or an
      // allocation failure while handling an error.
      if (this.interrupted) {
        this.recover(false);
        return { error: 'timeout', message: `policy exceeded its ${this.limits.callDeadlineMs} ms deadline` };
      }
      this.recover(true);
      return { error: 'oom', message: 'policy ran out of memory' };
    } catch (err) {
      this.deadline = Infinity;
      this.recover(true);
      if (err instanceof BoundaryOutOfMemory) return { error: 'oom', message: 'policy ran out of memory' };
      // Thrown by the WASM call itself (host stack overflow, module abort): nothing in this
      // module can be trusted any more.
      return { error: 'throw', message: `policy crashed the sandbox: ${errorText(err)}` };
    }
  }

  private marked(out: string, exhausted: boolean, t0: number): SandboxResult<never> {
    const tag = out.slice(0, 2);
    const rest = out.slice(2);
    if (tag === MARK.oom || exhausted) {
      if (!exhausted) this.recover(true);
      return fail('oom', 'policy ran out of memory', t0);
    }
    switch (tag) {
      case MARK.threw:
        return fail('throw', rest, t0);
      case MARK.undef:
        return fail('invalid_output', 'policy returned no JSON value', t0);
      case MARK.json:
        return fail('invalid_output', `policy output cannot be serialized: ${rest}`, t0);
      case MARK.big:
        return fail('invalid_output', `policy output is ${rest} chars, over the ${this.limits.maxOutputChars} cap`, t0);
      default:
        return fail('invalid_output', 'policy output is not JSON', t0);
    }
  }

  private readonly onInterrupt = (): boolean => {
    if (performance.now() <= this.deadline) return false;
    this.interrupted = true;
    return true;
  };

  /**
   * Builds runtime + context: prelude first (so the policy cannot capture the real clock), then
   * the policy script through the prelude's `load`. Throws BuildFailure.
   */
  private build(loaded: LoadedModule): Vm {
    const runtime = loaded.module.newRuntime();
    runtime.setMemoryLimit(this.limits.memoryLimitBytes);
    runtime.setMaxStackSize(this.limits.stackLimitBytes);
    runtime.setInterruptHandler(this.onInterrupt);
    const context = runtime.newContext();
    const vm: Vm = {
      loaded,
      runtime,
      context,
      select: null!,
      onError: null,
      compact: null!,
      install: null!,
      encoder: null,
      boundary: newBoundary(context, loaded.memory),
      name: null,
    };
    const handles: QuickJSHandle[] = [];
    let poisoned = true;
    try {
      this.interrupted = false;
      this.deadline = performance.now() + this.limits.initDeadlineMs;
      // The prelude is ours: an error here is a bug or resource trouble, so dump() is safe.
      const prelude = context.evalCode(this.prelude, 'prelude.js', { type: 'global' });
      if (prelude.error) throw this.loadFailure(vm, prelude.error, dumpError(context, prelude.error));
      handles.push(prelude.value);
      const source = context.newString(this.js);
      handles.push(source);
      const r = context.callFunction(prelude.value, context.undefined, source);
      // Policy errors are described inside the sandbox (under the deadline); what reaches here
      // is an interrupt or an allocation failure.
      if (r.error) throw this.loadFailure(vm, r.error, 'uncatchable error');
      handles.push(r.value);
      if (context.typeof(r.value) === 'string') {
        const marker = context.getString(r.value);
        poisoned = marker === MARK.oom;
        throw new BuildFailure(poisoned ? 'oom' : 'throw', poisoned ? 'policy script: out of memory' : `policy script: ${marker.slice(2)}`, poisoned);
      }
      vm.select = context.getProp(r.value, 0);
      vm.compact = context.getProp(r.value, 3);
      vm.install = context.getProp(r.value, 4);
      const onError = context.getProp(r.value, 1);
      if (context.typeof(onError) === 'function') vm.onError = onError;
      else onError.dispose();
      if (this.limits.compactBoundary) {
        const attach = context.getProp(r.value, 5);
        handles.push(attach);
        let channel: Channel | null = null;
        try {
          channel = vm.boundary.openChannel(attach, CHANNEL_SLOTS);
        } catch (err) {
          // No room for the channel: serve through JSON (anything else is a broken module).
          if (!(err instanceof BoundaryOutOfMemory)) throw err;
        }
        if (channel) vm.encoder = new CompactEncoder(channel);
      }
      const name = context.getProp(r.value, 2);
      vm.name = context.typeof(name) === 'string' ? context.getString(name) : null;
      name.dispose();
      poisoned = false;
      for (const h of handles) h.dispose();
      return vm;
    } catch (err) {
      if (err instanceof BuildFailure) poisoned = err.poisoned;
      if (!poisoned) {
        for (const h of handles) h.dispose();
        release(vm);
      }
      throw err instanceof BuildFailure ? err : new BuildFailure('throw', `policy script: sandbox crashed: ${errorText(err)}`, true);
    } finally {
      this.deadline = Infinity;
    }
  }

  /** Classifies an uncaught error from loading: timeout (runtime reusable) or out of memory. */
  private loadFailure(vm: Vm, error: QuickJSHandle, what: string): BuildFailure {
    error.dispose();
    if (this.interrupted) return new BuildFailure('timeout', `policy script: exceeded ${this.limits.initDeadlineMs} ms`, false);
    if (/out of memory/.test(what) || nearCap(vm)) return new BuildFailure('oom', 'policy script: out of memory', true);
    return new BuildFailure('throw', `policy script: ${what}`, true);
  }

  /**
   * Replaces the current VM. `fatal`: drop the module untouched (never dispose after an OOM);
   * otherwise dispose the old runtime and rebuild on the same module.
   */
  private recover(fatal: boolean): void {
    const old = this.vm;
    this.vm = null;
    if (!old) return;
    let loaded: LoadedModule | null = fatal ? null : old.loaded;
    if (loaded && !release(old)) loaded = null;
    loaded ??= takeSpareModule(this.limits.memoryLimitBytes);
    if (loaded && this.tryBuild(loaded)) return;
    this.reloading ??= this.reload();
  }

  private tryBuild(loaded: LoadedModule): boolean {
    try {
      this.vm = this.build(loaded);
      return true;
    } catch {
      // The same script loaded before, so this is resource trouble: the caller falls back to
      // one reload on a fresh module.
      return false;
    }
  }

  private async reload(): Promise<void> {
    const limit = this.limits.memoryLimitBytes;
    try {
      // A build can fail for passing reasons (a long GC pause against the init deadline).
      for (let attempt = 0; attempt < 3 && !this.disposed; attempt++) {
        await spareReady(limit);
        const loaded = takeSpareModule(limit) ?? (await loadModule(limit));
        if (this.disposed || this.tryBuild(loaded)) return;
      }
      if (!this.disposed) this.broken = 'the policy could not be reloaded';
    } catch (err) {
      this.broken = `could not load a QuickJS module: ${errorText(err)}`;
    } finally {
      this.reloading = null;
    }
  }
}

/** True when the module's memory has grown to within RECYCLE_HEADROOM_BYTES of its cap. */
function nearCap(vm: Vm): boolean {
  return vm.loaded.memory.buffer.byteLength > vm.loaded.maxBytes - RECYCLE_HEADROOM_BYTES;
}

/** Disposes a healthy VM; false when the module aborted while doing so (it must then be dropped). */
function release(vm: Vm): boolean {
  try {
    vm.select?.dispose();
    vm.onError?.dispose();
    vm.compact?.dispose();
    vm.install?.dispose();
    vm.boundary.dispose();
    vm.context.dispose();
    vm.runtime.dispose();
    return true;
  } catch {
    return false;
  }
}

function dumpError(ctx: QuickJSContext, h: QuickJSHandle): string {
  try {
    const e: unknown = ctx.dump(h);
    if (e && typeof e === 'object' && 'message' in e) {
      const { name, message } = e as { name?: unknown; message?: unknown };
      return `${String(name ?? 'Error')}: ${String(message)}`;
    }
    return String(e);
  } catch {
    return 'unprintable error';
  }
}

function fail(error: SandboxErrorKind, message: string, t0: number): SandboxResult<never> {
  return { ok: false, error, message, us: since(t0) };
}

function since(t0: number): number {
  return Math.round((performance.now() - t0) * 1000);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function definedOnly(o: SandboxOptions): SandboxOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SandboxOptions;
}
