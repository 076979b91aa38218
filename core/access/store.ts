import { MemoryCounterStore, type CounterStore } from './counters.js';
import { RedisCounterStore } from './redis-counters.js';

/** Config `limits:` — where rate-limit and budget counters live. */
export interface LimitStoreConfig {
  store: 'memory' | 'redis';
  redis_url: string;
  prefix: string;
}

/** Memory (one process) or Redis (replicas share limits and budgets). */
export function createCounterStore(cfg: LimitStoreConfig | undefined): CounterStore {
  if (cfg?.store === 'redis') return new RedisCounterStore({ url: cfg.redis_url, prefix: cfg.prefix });
  return new MemoryCounterStore();
}
