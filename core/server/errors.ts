import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError, renderError } from '../errors.js';
import { requestIdOf } from './request-id.js';

/** Which error shape a path speaks. */
export function protocolOf(url: string): 'openai' | 'anthropic' {
  return url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}

/** Map fastify's own errors (parse, size, media type) into the gateway catalogue. */
function toGatewayError(err: FastifyError): GatewayError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('SY_ERR_BODY_TOO_LARGE', 'request body is larger than server.body_limit_mb');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('SY_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported content-type: send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('SY_ERR_INVALID_JSON', 'request body is empty: send a JSON object');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('SY_ERR_INVALID_REQUEST', 'content-length does not match the body');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new GatewayError('SY_ERR_INVALID_JSON', `request body is not valid JSON: ${err.message.slice(0, 200)}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new GatewayError('SY_ERR_INVALID_REQUEST', err.message.slice(0, 300), { status: err.statusCode });
  }
  return new GatewayError('SY_ERR_INTERNAL', 'internal gateway error');
}

export function installErrorHandlers(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const ge = err instanceof GatewayError ? err : toGatewayError(err);
    if (ge.code === 'SY_ERR_INTERNAL') log.error({ err, url: req.url }, 'unhandled error');
    reply.code(ge.status).headers({ 'x-request-id': requestIdOf(req.headers), ...ge.headers, 'content-type': 'application/json' }).send(renderError(ge, protocolOf(req.url)));
  });
  app.setNotFoundHandler((req, reply) => {
    const ge = new GatewayError('SY_ERR_NOT_FOUND', `no such endpoint: ${req.method} ${req.url.split('?')[0].slice(0, 200)}`);
    reply.code(404).headers({ 'x-request-id': requestIdOf(req.headers), 'content-type': 'application/json' }).send(renderError(ge, protocolOf(req.url)));
  });
}
