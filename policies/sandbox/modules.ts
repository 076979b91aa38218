/**
 * QuickJS WASM modules for sandboxes, one per sandbox, each on its own capped WebAssembly.Memory.
 *
 * Why one module per sandbox:
 * - The memory cap. QuickJS's own limit (setMemoryLimit) counts bytes through
 *   malloc_usable_size, which emscripten builds lack: it only counts ~8 bytes per allocation, so
 *   an "8 MiB" runtime can grow the heap by hundreds of MiB. A `maximum` on the module's memory
 *   makes allocation really fail, which QuickJS reports as an ordinary out-of-memory error.
 * - Recovery. After an out-of-memory (or a host exception out of WASM) the module cannot be
 *   trusted: disposing the affected runtime can abort the whole module (quickjs-emscripten 0.32,
 *   issue #257). Such a module is dropped whole and left to the GC, never disposed; with one
 *   module per sandbox that takes no other policy down with it.
 *
 * Loading a module is async (~10-20 ms), but a sandbox must recover synchronously inside a
 * call, so one spare module per memory size is kept loaded.
 */
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC, type QuickJSWASMModule } from 'quickjs-emscripten';

/** What is used of WebAssembly.Memory (the project's lib settings carry no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory } })
  .WebAssembly;

const PAGE = 64 * 1024;
/** The release build's INITIAL_MEMORY (16 MiB); an imported memory may not start smaller. */
const INITIAL_BYTES = 16 * 1024 * 1024;

export interface LoadedModule {
  module: QuickJSWASMModule;
  memory: WasmMemory;
  /** The memory's maximum size in bytes. */
  maxBytes: number;
}

/** Memory may grow by `heapLimitBytes` beyond the initial 16 MiB (stack, statics, base heap). */
export function maxBytesFor(heapLimitBytes: number): number {
  return Math.ceil((INITIAL_BYTES + heapLimitBytes) / PAGE) * PAGE;
}

export async function loadModule(heapLimitBytes: number): Promise<LoadedModule> {
  const maxBytes = maxBytesFor(heapLimitBytes);
  const memory = new Memory({ initial: INITIAL_BYTES / PAGE, maximum: maxBytes / PAGE });
  const module = await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
  return { module, memory, maxBytes };
}

const spares = new Map<number, LoadedModule>();
const refilling = new Map<number, Promise<void>>();

/** The spare for this size if one is loaded (and starts loading the next), else null. Synchronous. */
export function takeSpareModule(heapLimitBytes: number): LoadedModule | null {
  const key = maxBytesFor(heapLimitBytes);
  const m = spares.get(key) ?? null;
  spares.delete(key);
  refill(heapLimitBytes);
  return m;
}

/** A module for a new sandbox: the spare if ready, else a freshly loaded one. */
export async function acquireModule(heapLimitBytes: number): Promise<LoadedModule> {
  return takeSpareModule(heapLimitBytes) ?? (await loadModule(heapLimitBytes));
}

/** Resolves once a spare of this size is loaded (or loading it failed). */
export async function spareReady(heapLimitBytes: number): Promise<void> {
  refill(heapLimitBytes);
  await refilling.get(maxBytesFor(heapLimitBytes));
}

function refill(heapLimitBytes: number): void {
  const key = maxBytesFor(heapLimitBytes);
  if (spares.has(key) || refilling.has(key)) return;
  const p = loadModule(heapLimitBytes)
    .then(
      (m) => {
        spares.set(key, m);
      },
      () => {
        // Leave it empty; the next take or acquire tries again.
      },
    )
    .finally(() => {
      refilling.delete(key);
    });
  refilling.set(key, p);
}
