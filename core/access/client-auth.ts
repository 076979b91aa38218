import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { GatewayError, renderError } from '../errors.js';
import { protocolOf } from '../server/errors.js';
import { markAuthenticated, type Access } from './access.js';
import { presentedCredentials } from './keys.js';

/**
 * Client-key authentication for the data plane (every route under /v1/), before the body
 * is read: a request without a valid key never reaches the JSON parser, routing or an
 * upstream. With no keys configured every client is allowed (the gateway then binds only
 * loopback unless --insecure, see bind.ts).
 *
 * The client's credential headers are removed from the request once checked, so no hook,
 * plugin, capture or log downstream can see or forward them.
 */
export function installClientAuth(app: FastifyInstance, access: () => Access | undefined): void {
  app.addHook('onRequest', (req, reply, done) => {
    const route = req.routeOptions.url;
    if (!route || !route.startsWith('/v1/')) return done();
    const a = access();
    if (a?.keys.enabled) {
      const key = a.keys.authenticate(req.headers);
      if (!key) {
        const presented = presentedCredentials(req.headers).length > 0;
        const ge = new GatewayError('SY_ERR_UNAUTHORIZED', presented ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key> or x-api-key: <key>');
        const rid = req.headers['x-request-id'];
        const requestId = typeof rid === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(rid) ? rid : randomUUID();
        reply.code(401).headers({ 'x-request-id': requestId, 'www-authenticate': 'Bearer', 'content-type': 'application/json' }).send(renderError(ge, protocolOf(req.url)));
        return;
      }
      markAuthenticated(req, key.id);
    }
    delete req.headers.authorization;
    delete req.headers['x-api-key'];
    done();
  });
}
