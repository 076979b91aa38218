import { classifyIp } from '../network/ip.js';

/** Is this listen host reachable only from the machine itself? */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  return classifyIp(h) === 'loopback';
}

/** A refused listen: the CLI prints its message without a stack. */
export class BindRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BindRefusedError';
  }
}

export type BindVerdict = { ok: true; warning: string | null } | { ok: false; error: string };

/**
 * Without client keys anyone who can reach the gateway spends its provider keys, so it only
 * binds loopback: a non-loopback host is refused unless the operator says `--insecure`
 * (e.g. behind an authenticating proxy). Either way a keyless gateway warns at start.
 */
export function checkBind(host: string, keysConfigured: boolean, insecure: boolean): BindVerdict {
  if (keysConfigured) return { ok: true, warning: null };
  if (isLoopbackHost(host)) {
    return { ok: true, warning: `no client keys configured: any local process that can reach ${host} can use every route (add keys: to the config)` };
  }
  if (!insecure) {
    return { ok: false, error: `refusing to listen on ${host} with no client keys configured: anyone who can reach it could spend your provider keys. Add keys: to the config, bind a loopback host (127.0.0.1), or start with --insecure if an authenticating proxy guards it` };
  }
  return { ok: true, warning: `INSECURE: listening on ${host} with no client keys configured (--insecure): anyone who can reach it can use every route` };
}
