import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The key config this module needs (config `keys:`). */
export interface KeySpec {
  id: string;
  key: string;
  routes?: string[];
  rate_limit?: { rpm?: number; tpm?: number };
  budget?: { usd: number; period: 'day' | 'month' };
}

/** A gateway client key as held in memory: its sha256 digest, never the key itself. */
export interface ClientKey {
  id: string;
  /** Routes (public model names) the key may use; null = every route. */
  routes: ReadonlySet<string> | null;
  rateLimit?: { rpm?: number; tpm?: number };
  budget?: { usd: number; period: 'day' | 'month' };
  readonly digest: Buffer;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Longest credential we bother hashing (header size bounds it anyway). */
const MAX_CREDENTIAL = 4096;

/**
 * The client credentials a request presents: `Authorization: Bearer <key>` and/or
 * `x-api-key: <key>` (the OpenAI and Anthropic SDK conventions).
 */
export function presentedCredentials(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) out.push(m[1]);
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) out.push(x.trim());
  return out.filter((c) => c.length <= MAX_CREDENTIAL);
}

/**
 * The configured client keys. Matching compares sha256 digests with timingSafeEqual against
 * every key, without stopping at the first hit, so timing reveals neither a key's prefix
 * nor which key matched.
 */
export class KeyRing {
  private readonly list: ClientKey[];
  private readonly byIdMap: Map<string, ClientKey>;

  constructor(keys: readonly KeySpec[]) {
    this.list = keys.map((k) => ({
      id: k.id,
      routes: k.routes ? new Set(k.routes) : null,
      rateLimit: k.rate_limit,
      budget: k.budget,
      digest: sha256(k.key),
    }));
    this.byIdMap = new Map(this.list.map((k) => [k.id, k]));
  }

  /** True when keys are configured: every data-plane request must then present one. */
  get enabled(): boolean {
    return this.list.length > 0;
  }

  byId(id: string): ClientKey | undefined {
    return this.byIdMap.get(id);
  }

  /** The key a credential belongs to, or null. Constant time in the credential's content. */
  match(credential: string): ClientKey | null {
    const d = sha256(credential);
    let found: ClientKey | null = null;
    for (const k of this.list) {
      if (timingSafeEqual(d, k.digest) && !found) found = k;
    }
    return found;
  }

  /** The key of the first presented credential that matches, or null. */
  authenticate(headers: IncomingHttpHeaders): ClientKey | null {
    let found: ClientKey | null = null;
    for (const c of presentedCredentials(headers)) {
      const k = this.match(c);
      if (k && !found) found = k;
    }
    return found;
  }

  /** May this key use the route? */
  static owns(key: ClientKey, route: string): boolean {
    return key.routes === null || key.routes.has(route);
  }
}
