import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';

// Loaded on first use: a gateway without a Redis store never pays for the client (~23 MiB).
const loadRedis = () => (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
import { WINDOW_MS, windowOf, type CounterStore, type LimitCheck, type TakeResult } from './counters.js';

/**
 * Counters in Redis, so every replica enforces the same limits and budgets. The sliding-
 * window check-and-charge of all buckets of a request is one Lua script: atomic, one round
 * trip. Keys: `<prefix>rl:<bucket>:<window>` (expire after two windows) and
 * `<prefix>total:<key>` (expire at the end of the budget period).
 */

const TAKE = `
local w = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local weight = (w - elapsed) / w
local out = {}
local ok = 1
for i = 1, n do
  local curr = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local limit = tonumber(ARGV[2 + 2 * i])
  local amount = tonumber(ARGV[3 + 2 * i])
  if prev * weight + curr + amount > limit then ok = 0 end
  out[2 * i] = tostring(curr)
  out[2 * i + 1] = tostring(prev)
end
if ok == 1 then
  for i = 1, n do
    local amount = tonumber(ARGV[3 + 2 * i])
    local v = redis.call('INCRBY', KEYS[2 * i - 1], amount)
    redis.call('PEXPIRE', KEYS[2 * i - 1], 2 * w + 5000)
    out[2 * i] = tostring(v)
  end
end
out[1] = tostring(ok)
return out
`;

const ADJUST = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('INCRBY', KEYS[1], ARGV[1])
  if v < 0 then redis.call('SET', KEYS[1], '0', 'KEEPTTL') end
end
return 1
`;

const ADD_TOTAL = `
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return v
`;

type Scripted = RedisClient & {
  syTake(...args: (string | number)[]): Promise<string[]>;
  syAdjust(key: string, delta: number): Promise<number>;
  syAddTotal(key: string, amount: string, expiresAt: number): Promise<string>;
};

export interface RedisCounterOptions {
  url: string;
  /** Prefix of every key (lets several gateways or tests share one Redis). */
  prefix: string;
}

export class RedisCounterStore implements CounterStore {
  readonly redis: Scripted;
  private readonly prefix: string;

  constructor(opts: RedisCounterOptions) {
    this.prefix = opts.prefix;
    const Redis = loadRedis();
    const redis: RedisClient = new Redis(opts.url, { commandTimeout: 1000, maxRetriesPerRequest: 1, enableAutoPipelining: true });
    // Connection errors surface on commands (and are logged by the caller); don't crash.
    redis.on('error', () => {});
    redis.defineCommand('syTake', { lua: TAKE });
    redis.defineCommand('syAdjust', { numberOfKeys: 1, lua: ADJUST });
    redis.defineCommand('syAddTotal', { numberOfKeys: 1, lua: ADD_TOTAL });
    this.redis = redis as Scripted;
  }

  /**
   * Fail fast while disconnected (the caller then admits without limits and logs it) rather
   * than queueing every request behind reconnect attempts.
   */
  private connected(): void {
    if (this.redis.status !== 'ready') throw Object.assign(new Error(`Redis is not connected (${this.redis.status})`), { code: 'SY_REDIS_DOWN' });
  }

  /** Resolves once connected (or rejects after `ms`). */
  async ready(ms = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Redis did not become ready')), ms);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private rl(bucket: string, window: number): string {
    return `${this.prefix}rl:${bucket}:${window}`;
  }

  async take(checks: LimitCheck[], now: number): Promise<TakeResult> {
    this.connected();
    const { window, elapsedMs } = windowOf(now);
    const keys: string[] = [];
    const args: (string | number)[] = [WINDOW_MS, elapsedMs, checks.length];
    for (const c of checks) {
      keys.push(this.rl(c.bucket, window), this.rl(c.bucket, window - 1));
      args.push(c.limit, Math.round(c.amount));
    }
    const out = await this.redis.syTake(keys.length, ...keys, ...args);
    return {
      allowed: out[0] === '1',
      window,
      elapsedMs,
      buckets: checks.map((c, i) => ({ ...c, curr: Number(out[2 * i + 1]), prev: Number(out[2 * i + 2]) })),
    };
  }

  async adjust(bucket: string, window: number, delta: number): Promise<void> {
    this.connected();
    const d = Math.round(delta);
    if (d !== 0) await this.redis.syAdjust(this.rl(bucket, window), d);
  }

  async addTotal(key: string, amount: number, expiresAt: number): Promise<number> {
    this.connected();
    return Number(await this.redis.syAddTotal(`${this.prefix}total:${key}`, amount.toFixed(12), Math.ceil(expiresAt)));
  }

  async getTotal(key: string): Promise<number> {
    this.connected();
    const v = await this.redis.get(`${this.prefix}total:${key}`);
    return v === null ? 0 : Number(v);
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
