import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The admin UI at /admin: plain files from core/admin/ui/ (no build step, not compiled by tsc)
 * plus three vendored ES modules from node_modules (preact, preact/hooks, htm), all served by
 * the gateway itself so the UI works offline. The shell is public; every piece of data comes
 * from /admin/api behind the admin guard.
 *
 * Only files listed at boot are served (no path is ever joined from a request), with a strict
 * Content-Security-Policy: scripts and styles from this origin only, plus the hash of the
 * inline import map.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The folder holding index.html: beside the package.json, whether running from dist/ or from source. */
export function uiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'core', 'admin', 'ui');
    if (existsSync(join(dir, 'package.json')) && existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dirname(fileURLToPath(import.meta.url)), 'ui');
}

/** The vendored modules, by the name the UI's import map gives them. */
function vendorFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, spec] of [['preact.mjs', 'preact'], ['preact-hooks.mjs', 'preact/hooks'], ['htm.mjs', 'htm']] as const) {
    out.set(name, fileURLToPath(import.meta.resolve(spec)));
  }
  return out;
}

function listFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (TYPES[extname(name)]) out.set(relative(root, full).split(sep).join('/'), full);
    }
  };
  walk(root);
  return out;
}

const IMPORT_MAP = /<script type="importmap">([\s\S]*?)<\/script>/;

export function registerAdminUi(app: FastifyInstance): void {
  const root = uiDir();
  if (!existsSync(join(root, 'index.html'))) throw new Error(`admin UI files not found in ${root}`);
  const files = listFiles(root);
  const vendor = vendorFiles();
  const map = IMPORT_MAP.exec(readFileSync(join(root, 'index.html'), 'utf8'));
  const mapHash = map ? `'sha256-${createHash('sha256').update(map[1]).digest('base64')}'` : '';
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${mapHash}`.trim(),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const send = async (req: FastifyRequest, reply: FastifyReply, file: string) => {
    const body = await readFile(file);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    reply.headers({
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      etag,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    });
    if (extname(file) === '.html') reply.headers({ 'content-security-policy': csp, 'x-frame-options': 'DENY' });
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(body);
  };

  const index = join(root, 'index.html');
  app.get('/admin', (req, reply) => send(req, reply, index));
  app.get('/admin/', (req, reply) => send(req, reply, index));
  app.get('/admin/assets/*', (req, reply) => {
    const file = files.get((req.params as { '*': string })['*']);
    return file ? send(req, reply, file) : reply.code(404).send({ error: { message: 'no such admin UI file', code: 'SY_ERR_NOT_FOUND' } });
  });
  app.get('/admin/vendor/:name', (req, reply) => {
    const file = vendor.get((req.params as { name: string }).name);
    return file ? send(req, reply, file) : reply.code(404).send({ error: { message: 'no such admin UI file', code: 'SY_ERR_NOT_FOUND' } });
  });
}
