import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is a sane token, else a new UUID: every response carries one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const h = headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
}
