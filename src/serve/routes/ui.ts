import type { FastifyInstance, FastifyReply } from 'fastify';
import { UI_SCRIPT } from '../ui/app.js';
import { UI_PAGE } from '../ui/page.js';
import { UI_STYLE } from '../ui/style.js';

// The web UI, served by the API's own process: GET /ui (the page),
// /ui/app.js and /ui/style.css. These routes are public (marked publicAsset,
// which the authentication hook lets through): they are fixed text with no
// user's data in them. Everything the page shows it fetches from the API with
// the key the user types, so the UI adds no way around the key-selects-user
// rule. The Content-Security-Policy lets the page run only its own script and
// talk only to this origin.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key (the web UI's static page and assets). */
    publicAsset?: boolean;
  }
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A small mark, so that the browser does not ask for /favicon.ico (an API path, which would answer 401).
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2f6fdf"/><path d="M5 4h6M8 4v8M5 12h6" stroke="#fff" stroke-width="2"/></svg>';

function send(reply: FastifyReply, type: string, body: string) {
  return reply
    .header('content-type', type)
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .send(body);
}

export function registerUiRoutes(app: FastifyInstance): void {
  const config = { publicAsset: true };
  app.get('/ui', { config }, async (_request, reply) => send(reply, 'text/html; charset=utf-8', UI_PAGE));
  app.get('/ui/', { config }, async (_request, reply) => reply.redirect('/ui'));
  app.get('/ui/app.js', { config }, async (_request, reply) => send(reply, 'text/javascript; charset=utf-8', UI_SCRIPT));
  app.get('/ui/style.css', { config }, async (_request, reply) => send(reply, 'text/css; charset=utf-8', UI_STYLE));
  app.get('/ui/favicon.svg', { config }, async (_request, reply) => send(reply, 'image/svg+xml', FAVICON));
}
