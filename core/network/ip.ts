import { isIP } from 'node:net';

/**
 * What an IP address reaches, for the SSRF guard.
 *
 * - `public`: the internet.
 * - `private`, `loopback`: the host and its private networks (RFC 1918, CGNAT, ULA, ...).
 *   Self-hosted model servers live there, so these are allowed unless `network.deny_private`.
 * - `link_local`, `metadata`, `unspecified`, `multicast`, `reserved`: never a legitimate
 *   upstream (cloud metadata services sit on link-local addresses): always refused.
 *
 * Addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are
 * classified by the embedded address, so `::ffff:169.254.169.254` is metadata too.
 */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link_local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

/** Classes refused whatever the config says. */
export const ALWAYS_REFUSED: ReadonlySet<AddressClass> = new Set(['link_local', 'metadata', 'unspecified', 'multicast', 'reserved']);
/** Classes refused when `network.deny_private: true`. */
export const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set(['private', 'loopback']);

/** Cloud metadata endpoints by address (all other link-local addresses are refused anyway). */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192']);
const METADATA_V6 = new Set(['fd00:ec2:0:0:0:0:0:254']);

type V4Range = [base: number, bits: number, cls: AddressClass];

function v4(a: string): number {
  const p = a.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Most specific first. */
const V4_RANGES: V4Range[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT (100.100.100.200 is metadata, matched before)
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link_local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'private'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'private'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // TEST-NET-2
  ['203.0.113.0', 24, 'reserved'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
].map(([a, bits, cls]) => [v4(a as string), bits as number, cls as AddressClass]);

export function classifyV4(address: string): AddressClass {
  if (METADATA_V4.has(address)) return 'metadata';
  const n = v4(address);
  for (const [base, bits, cls] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === base) return cls;
  }
  return 'public';
}

/** Eight 16-bit groups of an IPv6 address (zone id stripped, embedded dotted quad allowed). */
export function parseV6(address: string): number[] | null {
  let a = address;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (isIP(a) !== 6) return null;
  const lastColon = a.lastIndexOf(':');
  const last = a.slice(lastColon + 1);
  if (last.includes('.')) {
    const n = v4(last);
    a = `${a.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const parse = (s: string) => (s ? s.split(':').map((x) => parseInt(x, 16)) : []);
  const dbl = a.indexOf('::');
  if (dbl < 0) {
    const g = parse(a);
    return g.length === 8 ? g : null;
  }
  const h = parse(a.slice(0, dbl));
  const r = parse(a.slice(dbl + 2));
  const fill = 8 - h.length - r.length;
  if (fill < 0) return null;
  return [...h, ...new Array<number>(fill).fill(0), ...r];
}

function v4FromGroups(hi: number, lo: number): string {
  return `${hi >>> 8}.${hi & 0xff}.${lo >>> 8}.${lo & 0xff}`;
}

export function classifyV6(address: string): AddressClass {
  const g = parseV6(address);
  if (!g) return 'reserved';
  const canonical = g.map((x) => x.toString(16)).join(':');
  if (METADATA_V6.has(canonical)) return 'metadata';
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return 'unspecified';
  if (zeroTo(7) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64)
  if (zeroTo(5) && g[5] === 0xffff) return classifyV4(v4FromGroups(g[6], g[7]));
  if (zeroTo(6)) return classifyV4(v4FromGroups(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(v4FromGroups(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'private'; // local-use NAT64
  if (g[0] === 0x2002) return classifyV4(v4FromGroups(g[1], g[2])); // 6to4
  if (g[0] === 0x2001 && g[1] === 0) return 'reserved'; // Teredo: embeds an obfuscated IPv4
  if (g[0] === 0x2001 && g[1] === 0xdb8) return 'reserved'; // documentation
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'reserved'; // discard
  if ((g[0] & 0xffc0) === 0xfe80) return 'link_local';
  if ((g[0] & 0xffc0) === 0xfec0) return 'private'; // site-local (deprecated)
  if ((g[0] & 0xfe00) === 0xfc00) return 'private'; // unique local
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}

/** Classify an IP literal; null when `address` is not one. */
export function classifyIp(address: string): AddressClass | null {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zoneless = a.split('%')[0];
  const v = isIP(zoneless);
  if (v === 4) return classifyV4(zoneless);
  if (v === 6) return classifyV6(a);
  return null;
}
