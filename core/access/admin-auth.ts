import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { GatewayError, renderError } from '../errors.js';

/**
 * Admin API authentication. Every admin route (under /admin/api/) declares the level it
 * needs with `requireAdmin('read' | 'write')` as its preHandler:
 *
 *   app.get('/admin/api/providers', { preHandler: requireAdmin('read') }, handler)
 *   app.post('/admin/api/policies/publish', { preHandler: requireAdmin('write') }, handler)
 *
 * Credentials, in order:
 * - `Authorization: Bearer <admin.token>` → role admin (read + write);
 *   `Authorization: Bearer <admin.viewer_token>` → role viewer (read only: 403 on writes).
 * - the `sy_admin` session cookie (browsers: the admin UI), set by `POST /admin/api/session
 *   {token}` and cleared by `DELETE /admin/api/session`. It is HttpOnly, SameSite=Strict,
 *   Path=/admin, and holds `role.expiry.nonce` signed with HMAC-SHA256 under a key derived
 *   from the configured tokens: replicas with the same tokens accept each other's sessions,
 *   and rotating a token invalidates every session. A state-changing request (anything but
 *   GET/HEAD/OPTIONS) authenticated by the cookie must also come from the same origin: its
 *   Origin (or, without one, Referer) host must equal its Host header, else 403.
 *
 * With neither admin.token nor admin.viewer_token configured the admin API is disabled:
 * every admin route answers 404 with a message saying how to enable it — also on loopback,
 * so that an unauthenticated control plane is never one typo away.
 */

export type AdminLevel = 'read' | 'write';
export type AdminRole = 'admin' | 'viewer';

export interface AdminIdentity {
  role: AdminRole;
  via: 'bearer' | 'cookie';
}

export interface AdminTokens {
  token?: string;
  viewer_token?: string;
}

export const SESSION_COOKIE = 'sy_admin';
/** Browser sessions last 12 hours. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's admin authenticator (see core/access/admin-auth.ts). */
    adminAuth: AdminAuth;
  }
}

const identities = new WeakMap<FastifyRequest, AdminIdentity>();

/** Who made this admin request (for audit rows): set by requireAdmin. */
export function adminIdentity(req: FastifyRequest): AdminIdentity | undefined {
  return identities.get(req);
}

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (name && !out.has(name)) out.set(name, part.slice(i + 1).trim());
  }
  return out;
}

/** Does the request come from the page origin it is addressed to? (Origin, else Referer, vs Host.) */
export function sameOrigin(req: FastifyRequest): boolean {
  const host = req.headers.host;
  if (typeof host !== 'string' || !host) return false;
  const origin = req.headers.origin;
  const source = typeof origin === 'string' ? origin : typeof req.headers.referer === 'string' ? req.headers.referer : null;
  if (!source || source === 'null') return false;
  try {
    return new URL(source).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

export class AdminAuth {
  private tokenDigest: Buffer | null = null;
  private viewerDigest: Buffer | null = null;
  private signingKey: Buffer = randomBytes(32);
  /** Nonces of sessions ended with DELETE /admin/api/session, until they expire. */
  private readonly revoked = new Map<string, number>();

  constructor(tokens: AdminTokens, private readonly now: () => number = Date.now) {
    this.update(tokens);
  }

  /** Take new tokens (config publish). Sessions signed under the old tokens stop working. */
  update(tokens: AdminTokens): void {
    this.tokenDigest = tokens.token ? sha256(tokens.token) : null;
    this.viewerDigest = tokens.viewer_token ? sha256(tokens.viewer_token) : null;
    this.signingKey = createHmac('sha256', 'switchyard-admin-session-v1')
      .update(tokens.token ?? '')
      .update('\0')
      .update(tokens.viewer_token ?? '')
      .digest();
  }

  get enabled(): boolean {
    return this.tokenDigest !== null || this.viewerDigest !== null;
  }

  /** The role a token grants, compared in constant time; null when it grants none. */
  roleOfToken(token: string): AdminRole | null {
    const d = sha256(token);
    const zero = Buffer.alloc(32);
    const isAdmin = timingSafeEqual(d, this.tokenDigest ?? zero) && this.tokenDigest !== null;
    const isViewer = timingSafeEqual(d, this.viewerDigest ?? zero) && this.viewerDigest !== null;
    return isAdmin ? 'admin' : isViewer ? 'viewer' : null;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.signingKey).update(payload).digest('base64url');
  }

  /** A session cookie value for a role. */
  issue(role: AdminRole, ttlMs = SESSION_TTL_MS): { value: string; expiresAt: number } {
    const expiresAt = this.now() + ttlMs;
    const payload = `${role === 'admin' ? 'a' : 'v'}.${Math.floor(expiresAt / 1000)}.${randomBytes(12).toString('base64url')}`;
    return { value: `${payload}.${this.sign(payload)}`, expiresAt };
  }

  /** The session a cookie value carries, or null when forged, expired or revoked. */
  verify(value: string): { role: AdminRole; nonce: string; expiresAt: number } | null {
    const parts = value.split('.');
    if (parts.length !== 4) return null;
    const payload = parts.slice(0, 3).join('.');
    const given = Buffer.from(parts[3], 'base64url');
    const want = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    const [r, exp, nonce] = parts;
    const expiresAt = Number(exp) * 1000;
    if ((r !== 'a' && r !== 'v') || !Number.isFinite(expiresAt) || expiresAt <= this.now()) return null;
    if (this.revoked.has(nonce)) return null;
    return { role: r === 'a' ? 'admin' : 'viewer', nonce, expiresAt };
  }

  revoke(nonce: string, expiresAt: number): void {
    const now = this.now();
    for (const [n, exp] of this.revoked) if (exp <= now) this.revoked.delete(n);
    this.revoked.set(nonce, expiresAt);
  }

  /** Authenticate an admin request for a level: the identity, or the error to answer with. */
  check(req: FastifyRequest, level: AdminLevel): AdminIdentity | GatewayError {
    if (!this.enabled) return disabledError();
    const token = bearer(req);
    let id: AdminIdentity | null = null;
    if (token !== null) {
      const role = this.roleOfToken(token);
      if (!role) return new GatewayError('SY_ERR_UNAUTHORIZED', 'invalid admin token', { headers: { 'www-authenticate': 'Bearer' } });
      id = { role, via: 'bearer' };
    } else {
      const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      const session = cookie ? this.verify(cookie) : null;
      if (!session) {
        return new GatewayError('SY_ERR_UNAUTHORIZED', cookie ? 'admin session expired or invalid: sign in again' : 'admin authentication required: Authorization: Bearer <admin token>, or a session from POST /admin/api/session', { headers: { 'www-authenticate': 'Bearer' } });
      }
      id = { role: session.role, via: 'cookie' };
      if (!SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
        return new GatewayError('SY_ERR_FORBIDDEN', 'cross-origin request refused: a state-changing admin request made with a session cookie must come from the same origin (Origin or Referer must match Host)');
      }
    }
    if (level === 'write' && id.role !== 'admin') return new GatewayError('SY_ERR_FORBIDDEN', 'the viewer token is read-only: this admin action needs the admin token');
    return id;
  }
}

function disabledError(): GatewayError {
  return new GatewayError('SY_ERR_NOT_FOUND', 'the admin API is disabled: set admin.token (full access) and/or admin.viewer_token (read-only) in the config to enable it');
}

function sendError(reply: FastifyReply, err: GatewayError): FastifyReply {
  return reply.code(err.status).headers({ ...err.headers, 'content-type': 'application/json', 'cache-control': 'no-store' }).send(renderError(err, 'openai'));
}

/** The preHandler an admin route declares: 401/403/404 unless the caller may act at `level`. */
export function requireAdmin(level: AdminLevel): preHandlerAsyncHookHandler {
  return async function requireAdminLevel(req, reply) {
    const auth = req.server.adminAuth;
    const r = auth ? auth.check(req, level) : disabledError();
    if (r instanceof GatewayError) return sendError(reply, r);
    identities.set(req, r);
    reply.header('cache-control', 'no-store');
  };
}

/** POSTs that change nothing (a dry-run only reads captures): viewers may make them. */
const READ_ONLY_POSTS = new Set(['/admin/api/policies/dry-run']);

/**
 * A guard for a whole admin context (e.g. an onRequest hook on the /admin/api prefix): reads
 * (GET/HEAD/OPTIONS, and read-only POSTs such as a dry-run) need 'read', everything else 'write'.
 */
export function adminGuard(): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const read = requireAdmin('read');
  const write = requireAdmin('write');
  return (req, reply) => (SAFE_METHODS.has(req.method) || READ_ONLY_POSTS.has(req.url.split('?')[0]) ? read : write).call(req.server, req, reply) as Promise<unknown>;
}

function sessionCookie(req: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
}

/**
 * Decorate the app with its AdminAuth and register the session endpoints:
 * POST /admin/api/session {token} (sign in: sets the cookie), DELETE /admin/api/session
 * (sign out: clears and revokes it), GET /admin/api/whoami (who am I, at read level).
 */
export function installAdminAuth(app: FastifyInstance, tokens: AdminTokens): AdminAuth {
  const auth = new AdminAuth(tokens);
  app.decorate('adminAuth', auth);

  app.post('/admin/api/session', async (req, reply) => {
    if (!auth.enabled) return sendError(reply, disabledError());
    const origin = req.headers.origin ?? req.headers.referer;
    if (origin !== undefined && !sameOrigin(req)) return sendError(reply, new GatewayError('SY_ERR_FORBIDDEN', 'cross-origin sign-in refused'));
    const body = req.body as { token?: unknown } | undefined;
    const token = body && typeof body === 'object' && typeof body.token === 'string' ? body.token : null;
    if (!token) return sendError(reply, new GatewayError('SY_ERR_INVALID_REQUEST', 'send {"token": "<admin or viewer token>"}', { param: 'token' }));
    const role = auth.roleOfToken(token);
    if (!role) return sendError(reply, new GatewayError('SY_ERR_UNAUTHORIZED', 'invalid admin token'));
    const s = auth.issue(role);
    reply.header('set-cookie', sessionCookie(req, s.value, Math.floor(SESSION_TTL_MS / 1000))).header('cache-control', 'no-store');
    return { role, expires_at: new Date(s.expiresAt).toISOString() };
  });

  app.delete('/admin/api/session', async (req, reply) => {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const session = cookie ? auth.verify(cookie) : null;
    if (session) {
      if (!sameOrigin(req)) return sendError(reply, new GatewayError('SY_ERR_FORBIDDEN', 'cross-origin sign-out refused'));
      auth.revoke(session.nonce, session.expiresAt);
    }
    reply.header('set-cookie', sessionCookie(req, '', 0)).header('cache-control', 'no-store');
    return { signed_out: true };
  });

  app.get('/admin/api/whoami', { preHandler: requireAdmin('read') }, async (req) => {
    const id = adminIdentity(req)!;
    return { role: id.role, via: id.via, can_write: id.role === 'admin' };
  });
  return auth;
}
