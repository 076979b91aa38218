import { ALWAYS_REFUSED, PRIVATE_CLASSES, classifyIp, type AddressClass } from './ip.js';

/**
 * The SSRF guard's rules, shared by the config check (static: scheme, userinfo, IP literals,
 * well-known names) and the connect-time check (every resolved address; see connect.ts).
 * Clients never choose an upstream URL; these rules keep an operator's config (or a config
 * published through the admin API) from pointing the gateway at the host's own network.
 */

export interface NetworkPolicy {
  /** Refuse loopback and private ranges too (link-local and metadata are always refused). */
  deny_private: boolean;
}

/** Cloud metadata services by name (their addresses are refused by ip.ts). */
export const METADATA_HOSTS: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.azure.internal',
]);

const REASONS: Record<AddressClass, string> = {
  public: 'public address',
  private: 'private address (refused because network.deny_private is true)',
  loopback: 'loopback address (refused because network.deny_private is true)',
  link_local: 'link-local address (always refused)',
  metadata: 'cloud metadata address (always refused)',
  unspecified: 'unspecified address (always refused)',
  multicast: 'multicast address (always refused)',
  reserved: 'reserved address (always refused)',
};

/** Lower case, no brackets, no trailing dot. */
export function normalizeHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  while (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** Why an address may not be connected to, or null when it may. */
export function addressProblem(address: string, policy: NetworkPolicy): string | null {
  const cls = classifyIp(address);
  if (cls === null) return `"${address}" is not an IP address`;
  if (ALWAYS_REFUSED.has(cls)) return REASONS[cls];
  if (policy.deny_private && PRIVATE_CLASSES.has(cls)) return REASONS[cls];
  return null;
}

/** Why a host name or literal is refused before any lookup, or null. */
export function hostProblem(hostname: string, policy: NetworkPolicy): string | null {
  const h = normalizeHost(hostname);
  if (!h) return 'empty host';
  if (classifyIp(h) !== null) return addressProblem(h, policy);
  if (METADATA_HOSTS.has(h)) return 'cloud metadata host (always refused)';
  if (policy.deny_private && (h === 'localhost' || h.endsWith('.localhost'))) return REASONS.loopback;
  return null;
}

/**
 * The config check for a provider base_url: http/https only, no userinfo (credentials
 * belong in api_key/headers, where they are redacted), and the host rules above.
 */
export function baseUrlProblem(raw: string, policy: NetworkPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol.replace(/:$/, '')} is not allowed (http or https only)`;
  if (url.username || url.password) return 'credentials in the URL are not allowed (use api_key or headers)';
  const p = hostProblem(url.hostname, policy);
  return p ? `host ${url.hostname} refused: ${p}` : null;
}
