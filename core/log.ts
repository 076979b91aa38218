import { pino, type Logger, type LoggerOptions } from 'pino';
import { scrub } from './access/secrets.js';
import { BatchedFdDestination } from './log-destination.js';

/**
 * Paths pino must never print. Only fixed paths: wildcard paths cost ~50 µs a line in
 * fast-redact (measured), and every configured secret is scrubbed from each line anyway.
 */
export const REDACT_PATHS = [
  'api_key', 'key', 'token', 'viewer_token', 'authorization', 'cookie',
  'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie',
  'request.headers.authorization', 'request.headers["x-api-key"]', 'request.headers.cookie',
];

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: NodeJS.WritableStream): Logger {
  // Every line also passes through scrub(): a configured secret never reaches the log, whatever object carried it.
  const opts: LoggerOptions = { level, base: { svc: 'switchyard' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, hooks: { streamWrite: scrub } };
  if (destination) return pino(opts, destination as pino.DestinationStream);
  // Lines are written in batches (one request line each costs a syscall otherwise, measured at
  // ~20% of the gateway's CPU under load); see log-destination.ts for why not sonic-boom's.
  return pino(opts, BatchedFdDestination.stderr());
}
