import { Pool } from 'undici';
import type { ProviderConfig } from '../config/schema.js';

/**
 * One keep-alive pool per upstream origin. `connect` may be replaced (the SSRF guard pins
 * resolved addresses there); everything else is plain undici.
 */
export function createPool(cfg: ProviderConfig, connect?: Pool.Options['connect']): Pool {
  const url = new URL(cfg.base_url);
  return new Pool(url.origin, {
    connections: cfg.max_connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connectTimeout: cfg.connect_timeout_ms,
    // Per-attempt deadlines are enforced by the attempt loop; these are backstops.
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(connect ? { connect } : {}),
  });
}
