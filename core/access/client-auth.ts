import type { FastifyInstance } from 'fastify';
import { GatewayError, renderError } from '../errors.js';
import { protocolOf } from '../server/errors.js';
import { markAuthenticated, type Access } from './access.js';
import { presentedCredentials } from './keys.js';
import { requestIdOf } from '../server/request-id.js';

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
    // A matched route under /v1/ (req.routeOptions would build an object per request).
    if (req.is404 || !req.url.startsWith('/v1/')) return done();
    const a = access();
    if (a?.keys.enabled) {
      const key = a.keys.authenticate(req.headers);
      if (!key) {
        const presented = presentedCredentials(req.headers).length > 0;
        const ge = new GatewayError('SY_ERR_UNAUTHORIZED', presented ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key> or x-api-key: <key>');
        reply.code(401).headers({ 'x-request-id': requestIdOf(req.headers), 'www-authenticate': 'Bearer', 'content-type': 'application/json' }).send(renderError(ge, protocolOf(req.url)));
        return;
      }
      markAuthenticated(req, key.id);
    }
    // `delete` only when present: deleting turns the headers object into a slow dictionary.
    if (req.headers.authorization !== undefined) delete req.headers.authorization;
    if (req.headers['x-api-key'] !== undefined) delete req.headers['x-api-key'];
    done();
  });
}
