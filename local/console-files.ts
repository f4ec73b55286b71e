import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:console` (run on install) puts the console. */
export const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../dist/console/', import.meta.url));

/** The console's files, by name: nothing else under /console/ is served (no path is read from the request). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page may load only its own files and call only this origin (the API); no page may frame it. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Serves `GET /console/…` from `dir`; answers false for any other path. */
export async function serveConsole(method: string, path: string, res: ServerResponse, dir: string): Promise<boolean> {
  if (path !== '/console' && !path.startsWith('/console/')) return false;
  if (path === '/console') {
    res.writeHead(308, { location: '/console/' }).end();
    return true;
  }
  const name = path.slice('/console/'.length) || 'index.html';
  const type = FILES[name];
  if ((method !== 'GET' && method !== 'HEAD') || !type) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('Not found');
    return true;
  }
  const body = await readFile(join(dir, name)).catch(() => undefined);
  if (!body) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('The console is not built: run npm run build:console');
    return true;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...SECURITY_HEADERS }).end(method === 'HEAD' ? undefined : body);
  return true;
}
