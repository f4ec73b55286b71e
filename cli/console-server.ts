import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { CONSOLE_OPERATIONS, CONSOLE_TOKEN_HEADER } from '../lib/api/console-operations.js';
import { operations } from '../lib/api/operations.js';
import { BUILT_CONSOLE_DIR, serveConsole } from '../local/console-files.js';
import { listenOnLoopback } from '../local/loopback-server.js';
import { refuseNonLocal } from '../local/request-guard.js';
import { ApiError, type FleetlineApi } from './api.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** What the console calls, and nothing else: no credentials, no access rules, no agents' routes. */
const ROUTES = CONSOLE_OPERATIONS.map((id) => operations[id]).map((o) => ({ method: o.method, pattern: new RegExp(`^${o.path.replace(/\{\w+\}/g, '[^/]+')}$`) }));
const BODILESS = new Set(['GET', 'HEAD', 'DELETE']);

const isOperation = (method: string, path: string) => ROUTES.some((r) => r.method === method && r.pattern.test(path));

export interface ConsoleServer {
  url: string;
  /** The page's address with the run's token: what the person opens. */
  pageUrl: string;
  server: Server;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'PayloadTooLargeError', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return size > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
}

/**
 * `fleetline console`: the web console on 127.0.0.1, and beside it the API's
 * operations passed on as the person running it (SigV4 from their AWS
 * credentials, added here), so no credential reaches the browser and nothing
 * new is deployed. Each run makes a random token, printed in the page's address
 * and sent by the page with every call: another user or process on the machine
 * cannot call through it. Like the local dev server, it also answers only
 * requests for its own host and origin with JSON writes, as a browser page
 * elsewhere would not. It passes on only the operations the console calls.
 */
export async function startConsoleServer(api: FleetlineApi, port: number, consoleDir = BUILT_CONSOLE_DIR): Promise<ConsoleServer> {
  let boundPort = port;
  const token = randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const holdsToken = (req: IncomingMessage) => {
    const sent = Buffer.from(String(req.headers[CONSOLE_TOKEN_HEADER] ?? ''));
    return sent.length === expected.length && timingSafeEqual(sent, expected);
  };
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const answer = (status: number, code: string, message: string) =>
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { code, message } }));
    const refusal = refuseNonLocal(method, req.headers, boundPort);
    if (refusal) {
      req.resume();
      answer(refusal.status, refusal.code, refusal.message);
      return;
    }
    void (async () => {
      if (await serveConsole(method, url.pathname, res, consoleDir)) return req.resume();
      if (!isOperation(method, url.pathname)) {
        req.resume();
        return answer(404, 'NotFoundError', `${method} ${url.pathname} is not an operation the console calls`);
      }
      if (!holdsToken(req)) {
        req.resume();
        return answer(401, 'UnauthorizedError', `Open the console at the address fleetline console printed (it holds this run's token)`);
      }
      const body = await readBody(req);
      if (body !== undefined && BODILESS.has(method)) return answer(400, 'ValidationError', `A ${method} request takes no body`);
      const response = await api.request(method, url.pathname, url.searchParams, body);
      const text = await response.text();
      if (text && !/^application\/json\b/i.test(response.headers.get('content-type') ?? '')) {
        return answer(502, 'BadGatewayError', `${api.target.apiUrl} did not answer as the Fleetline API (HTTP ${response.status}, not JSON): check --api`);
      }
      res.writeHead(response.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(text);
    })().catch((error: Error) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof ApiError) return answer(error.status || 502, error.code, error.message);
      // The person reads this in their terminal: it names the cause (credentials, network).
      console.error(`fleetline console: ${error.message}`);
      answer(502, 'BadGatewayError', error.name === 'CredentialsError' ? error.message : 'The request could not be passed on to the Fleetline API (see the terminal running fleetline console)');
    });
  });
  const listening = await listenOnLoopback(server, port);
  boundPort = listening.port;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    pageUrl: `http://127.0.0.1:${boundPort}/console/?token=${token}`,
    server,
    stop: listening.stop,
  };
}
