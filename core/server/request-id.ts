import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is a sane token, else a new one: every response carries one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const h = headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : newRequestId();
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids sort by time, so the
 * request log and captures (keyed by request id) append to their indexes instead of inserting
 * at random pages: measured at about half the SQLite cost per row once the tables are large.
 */
export function newRequestId(): string {
  const u = randomUUID(); // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx: keep its random bits and variant
  const now = Date.now();
  if (now !== prefixMs) {
    // Requests arriving in the same millisecond share the prefix: formatted once.
    const ms = now.toString(16).padStart(12, '0');
    prefix = `${ms.slice(0, 8)}-${ms.slice(8)}-7`;
    prefixMs = now;
  }
  return prefix + u.slice(15);
}

let prefixMs = -1;
let prefix = '';
