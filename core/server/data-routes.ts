import type { FastifyInstance } from 'fastify';
import type { Entry } from '../providers/types.js';
import { handle, type PipelineState } from '../pipeline/handle.js';
import { countTokensRoute } from './count-tokens.js';
import { KeyRing } from '../access/keys.js';

/** The data plane: each entry protocol is one POST route into the same pipeline. */
export const ENTRIES: { path: string; entry: Entry; protocol: 'openai' | 'anthropic' }[] = [
  { path: '/v1/chat/completions', entry: 'openai.chat', protocol: 'openai' },
  { path: '/v1/embeddings', entry: 'openai.embeddings', protocol: 'openai' },
  // Client keys as x-api-key or bearer (core/access); errors in the Anthropic shape.
  { path: '/v1/messages', entry: 'anthropic.messages', protocol: 'anthropic' },
  { path: '/v1/responses', entry: 'openai.responses', protocol: 'openai' },
];

export function registerDataRoutes(app: FastifyInstance, state: () => PipelineState): void {
  for (const e of ENTRIES) {
    app.post(e.path, (req, reply) => handle(state(), e.entry, e.protocol, req, reply));
  }
  app.post('/v1/messages/count_tokens', (req, reply) => countTokensRoute(state(), req, reply));
  app.get('/v1/models', async (req) => {
    const s = state();
    const created = 0;
    // A key limited to some routes lists only those: the others would answer it 403.
    const keyId = s.access?.keys.enabled ? s.access.keyIdOf(req) : null;
    const key = keyId ? s.access!.keys.byId(keyId) : undefined;
    const ids = [...s.routes.keys()].filter((id) => !key || KeyRing.owns(key, id));
    return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'switchyard' })) };
  });
}
