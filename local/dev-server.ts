import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { CHANNEL_PATH, type LocalChannel } from './channel-server.js';
import { serveConsole } from './console-files.js';
import { listenOnLoopback } from './loopback-server.js';
import { lambdaContext } from './lambda-context.js';
import { refuseNonLocal } from './request-guard.js';

/**
 * Local stand-in for API Gateway's HTTP API with IAM authorization. There is no
 * IAM here: the caller is the local admin unless `X-Fleetline-Principal` names
 * another principal. This file is never bundled into a Lambda function, so the
 * switch cannot exist in the deployed stack, where the identity comes only from
 * API Gateway's request context. Requests a browser page could forge are refused
 * before anything else (request-guard.ts).
 */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_ADMIN_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/local-admin`;
export const PRINCIPAL_HEADER = 'x-fleetline-principal';
const ARN_PATTERN = /^arn:aws:(iam|sts)::\d{12}:[\w+=,.@/:-]{1,1024}$/;
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(application\/([\w.+-]+\+)?json|text\/)/i;

export type ApiHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface DevServer {
  url: string;
  server: Server;
  /** Requests served per caller principal (the benches count agents' requests). */
  requestsByPrincipal: Map<string, number>;
  /** Requests served per caller principal and route: `<principal> <METHOD> <path>`. */
  requestsByRoute: Map<string, number>;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Serve the web console's built files from here at /console/. */
  consoleDir?: string;
}

export async function startDevServer(handler: ApiHandler, port: number, channel?: LocalChannel, options: DevServerOptions = {}): Promise<DevServer> {
  let boundPort = port;
  const requestsByPrincipal = new Map<string, number>();
  const requestsByRoute = new Map<string, number>();
  const server = createServer((req, res) => {
    const caller = String(req.headers[PRINCIPAL_HEADER] ?? LOCAL_ADMIN_ARN);
    requestsByPrincipal.set(caller, (requestsByPrincipal.get(caller) ?? 0) + 1);
    const route = `${caller} ${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`;
    requestsByRoute.set(route, (requestsByRoute.get(route) ?? 0) + 1);
    serve(handler, req, res, boundPort, channel, options).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'InternalError', message: 'Internal server error' } }));
      console.error('dev server:', error);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    // A page in the browser must not open the channel either (cross-site WebSocket hijacking).
    const refusal = refuseNonLocal('GET', req.headers, boundPort);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const principal = req.headers[PRINCIPAL_HEADER];
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!channel || path !== CHANNEL_PATH || (principal !== undefined && (typeof principal !== 'string' || !ARN_PATTERN.test(principal)))) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    channel.handleUpgrade(req, socket, head, principal ?? LOCAL_ADMIN_ARN);
  });
  const listening = await listenOnLoopback(server, port);
  boundPort = listening.port;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    server,
    requestsByPrincipal,
    requestsByRoute,
    stop: () => {
      channel?.close();
      return listening.stop();
    },
  };
}

async function serve(handler: ApiHandler, req: IncomingMessage, res: ServerResponse, port: number, channel: LocalChannel | undefined, options: DevServerOptions): Promise<void> {
  const refusal = refuseNonLocal(req.method ?? 'GET', req.headers, port);
  // The Management API's PostToConnection carries the raw message, not JSON; Host and Origin still hold.
  const managementBody = refusal?.status === 415 && new URL(req.url ?? '/', 'http://localhost').pathname.startsWith('/@connections/');
  if (refusal && !managementBody) {
    req.resume();
    res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(
      JSON.stringify({ error: { code: refusal.code, message: refusal.message } }),
    );
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (options.consoleDir && (await serveConsole(req.method ?? 'GET', path, res, options.consoleDir))) {
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) {
      res.writeHead(413, { 'content-type': 'application/json' }).end(
        JSON.stringify({ error: { code: 'PayloadTooLargeError', message: 'Request body too large' } }),
      );
      return;
    }
    chunks.push(chunk as Buffer);
  }
  // The control channel's Management API (PostToConnection and friends), as the SDK client calls it.
  if (channel?.handleManagement(req, res, Buffer.concat(chunks))) return;
  const principal = req.headers[PRINCIPAL_HEADER];
  if (principal !== undefined && (typeof principal !== 'string' || !ARN_PATTERN.test(principal))) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(
      JSON.stringify({ error: { code: 'ValidationError', message: `${PRINCIPAL_HEADER} must be an IAM or STS ARN` } }),
    );
    return;
  }
  const event = toApiGatewayEvent(req, Buffer.concat(chunks), principal ?? LOCAL_ADMIN_ARN, port);
  const result = await handler(event, lambdaContext('api'));
  const body = result.body ?? '';
  res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

/** Builds the event API Gateway (payload format 2.0, IAM authorizer) would send. */
export function toApiGatewayEvent(
  req: IncomingMessage,
  body: Buffer,
  principalArn: string,
  port: number,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const method = (req.method ?? 'GET').toUpperCase();
  const isPublic = method === 'GET' && url.pathname === '/health';
  const routeKey = isPublic ? 'GET /health' : 'ANY /{proxy+}';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== PRINCIPAL_HEADER) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const contentType = headers['content-type'] ?? 'application/json';
  const isText = TEXT_TYPES.test(contentType);
  const now = new Date();
  const sessionOrUser = principalArn.split(':').slice(5).join(':');
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: isPublic ? undefined : { proxy: url.pathname.replace(/^\//, '') },
    isBase64Encoded: body.length > 0 && !isText,
    body: body.length === 0 ? undefined : isText ? body.toString('utf8') : body.toString('base64'),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: isPublic
        ? (undefined as never)
        : {
            iam: {
              accessKey: 'ASIALOCALACCESSKEY00',
              accountId: LOCAL_ACCOUNT,
              callerId: sessionOrUser,
              cognitoIdentity: undefined as never,
              principalOrgId: '',
              userArn: principalArn,
              userId: sessionOrUser,
            },
          },
    },
  };
}
