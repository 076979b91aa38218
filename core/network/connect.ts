import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';
import type { Logger } from 'pino';
import { addressProblem, hostProblem, normalizeHost, type NetworkPolicy } from './ssrf.js';

/** Resolve a host name to every address it has (dns.lookup: /etc/hosts, then DNS). */
export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The error a refused connect fails with: a connect_error to the attempt loop (fallback). */
export class SsrfRefusedError extends Error {
  readonly code = 'SY_SSRF_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SsrfRefusedError';
  }
}

export interface GuardOptions {
  policy: NetworkPolicy;
  /** Connect timeout (ms); undici ignores the pool's connectTimeout once `connect` is a function. */
  timeout: number;
  lookup?: Lookup;
  log?: Logger;
  /** Provider id, for the log line. */
  provider?: string;
  /** Extra TLS options (tests: a private CA). */
  tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
}

/**
 * An undici `connect` function that resolves the upstream host itself, refuses the
 * connection when ANY resolved address is forbidden, and then connects to the checked
 * address (pinned) with the original name kept for TLS (SNI and certificate checks) —
 * so a DNS answer that changes between the check and the connect (rebinding) cannot
 * reach an address that was never checked. Runs for every new connection, so a name
 * that later rebinds to a forbidden address is refused on the next connect.
 */
export function guardedConnect(opts: GuardOptions): buildConnector.connector {
  const connect = buildConnector({ timeout: opts.timeout, ...(opts.tls ?? {}) });
  const lookup = opts.lookup ?? systemLookup;
  const refuse = (cb: buildConnector.Callback, host: string, address: string | null, reason: string) => {
    opts.log?.warn({ provider: opts.provider, host, address, reason }, 'SSRF guard refused an upstream connection');
    cb(new SsrfRefusedError(`refused to connect to ${host}${address && address !== host ? ` (${address})` : ''}: ${reason}`), null);
  };
  return (options, cb) => {
    const host = normalizeHost(options.hostname);
    const early = hostProblem(host, opts.policy);
    if (early) return refuse(cb, host, null, early);
    const literal = isIP(host) !== 0;
    const resolved = literal ? Promise.resolve([{ address: host, family: isIP(host) }]) : lookup(host);
    resolved.then(
      (addresses) => {
        if (!addresses.length) return refuse(cb, host, null, 'the name has no addresses');
        for (const a of addresses) {
          const problem = addressProblem(a.address, opts.policy);
          if (problem) return refuse(cb, host, a.address, problem);
        }
        const pinned = addresses[0].address;
        connect({ ...options, hostname: pinned, servername: options.servername || (literal ? undefined : host) }, cb);
      },
      (err: NodeJS.ErrnoException) => cb(Object.assign(new Error(`cannot resolve ${host} (${err.code ?? 'lookup failed'})`), { code: err.code ?? 'ENOTFOUND' }), null),
    );
  };
}
