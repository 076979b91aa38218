/**
 * Per-target live state (health, cooldown, counters) behind one small interface. Reads are
 * synchronous from the local view because selectProvider runs on every request; a shared
 * implementation (Redis) keeps the local view in sync and propagates writes.
 */
export interface StateStore {
  get<T>(ns: string, key: string): T | undefined;
  set<T>(ns: string, key: string, value: T): void;
  delete(ns: string, key: string): void;
  /** Every key of a namespace, for admin views. */
  entries<T>(ns: string): [string, T][];
}

export class MemoryStateStore implements StateStore {
  private readonly spaces = new Map<string, Map<string, unknown>>();

  private space(ns: string): Map<string, unknown> {
    let m = this.spaces.get(ns);
    if (!m) this.spaces.set(ns, (m = new Map()));
    return m;
  }

  get<T>(ns: string, key: string): T | undefined {
    return this.space(ns).get(key) as T | undefined;
  }

  set<T>(ns: string, key: string, value: T): void {
    this.space(ns).set(key, value);
  }

  delete(ns: string, key: string): void {
    this.space(ns).delete(key);
  }

  entries<T>(ns: string): [string, T][] {
    return [...this.space(ns).entries()] as [string, T][];
  }
}
