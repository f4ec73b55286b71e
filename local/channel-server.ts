import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'aws-lambda';
import { WebSocket, WebSocketServer } from 'ws';
import { KEEPALIVE_MESSAGE } from '../lib/domain/agent-channel.js';
import { lambdaContext } from './lambda-context.js';

/** The channel function's handler (functions/channel.ts), fed the events API Gateway would send. */
export type ChannelHandler = (event: Parameters<typeof import('../functions/channel.js').handler>[0], context: Context) => Promise<{ statusCode: number; body?: string }>;

export const CHANNEL_PATH = '/channel';
const CONNECTIONS_PATH = /^\/@connections\/([^/]+)$/;
/** API Gateway's limit on a message's payload. */
const MAX_MESSAGE_BYTES = 128 * 1024;

export interface ChannelCounters {
  connects: number;
  /** Messages billed by API Gateway: pushes sent and keep-alives received. */
  pushes: number;
  keepalives: number;
}

export interface LocalChannel {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, principalArn: string): void;
  /** Answers the Management API (PostToConnection / DeleteConnection / GetConnection); false when not its path. */
  handleManagement(req: IncomingMessage, res: ServerResponse, body: Buffer): boolean;
  /** Drops every connection as a network failure would (no close handshake). */
  dropAll(): void;
  connectionCount(): number;
  /** While false, upgrades are refused (503), as during an outage of the WebSocket API. */
  setAvailable(available: boolean): void;
  /** The next `count` pushes are accepted but never delivered, as a message lost with the socket up. */
  losePushes(count: number): void;
  counters: ChannelCounters;
  close(): void;
}

/**
 * Local stand-in for API Gateway's WebSocket API and its Management API:
 * upgrades, messages and closes become $connect / $default / $disconnect
 * events for the same handler as in AWS; PostToConnection writes to the socket.
 */
export function createLocalChannel(handler: ChannelHandler, domainName: () => string): LocalChannel {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Map<string, WebSocket>();
  const counters: ChannelCounters = { connects: 0, pushes: 0, keepalives: 0 };
  let available = true;
  let toLose = 0;

  const event = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => {
    const now = new Date();
    const { identity, ...rest } = extra as { identity?: unknown };
    return {
      ...rest,
      isBase64Encoded: false,
      requestContext: {
        routeKey,
        eventType: routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE',
        connectionId,
        domainName: domainName(),
        stage: 'local',
        apiId: 'local',
        requestId: randomBytes(8).toString('hex'),
        requestTimeEpoch: now.getTime(),
        connectedAt: now.getTime(),
        ...(identity ? { identity } : {}),
      },
    };
  };

  return {
    counters,
    handleUpgrade(req, socket, head, principalArn) {
      if (!available) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      // API Gateway connection IDs are short opaque strings, unique per connection.
      const connectionId = randomBytes(9).toString('base64url');
      const query = Object.fromEntries(url.searchParams);
      counters.connects++;
      handler(
        event('$connect', connectionId, {
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
          identity: { userArn: principalArn, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' },
        }),
        lambdaContext('channel'),
      ).then(
        (result) => {
          if (result.statusCode !== 200) {
            socket.end(`HTTP/1.1 ${result.statusCode} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => {
            sockets.set(connectionId, ws);
            ws.on('message', (data) => {
              const text = data.toString();
              // In AWS the keep-alive route answers with a mock integration: no function runs.
              if (text === KEEPALIVE_MESSAGE) {
                counters.keepalives++;
                return;
              }
              void handler(event('$default', connectionId, { body: text }), lambdaContext('channel')).catch(() => undefined);
            });
            ws.on('close', () => {
              sockets.delete(connectionId);
              void handler(event('$disconnect', connectionId), lambdaContext('channel')).catch(() => undefined);
            });
            ws.on('error', () => undefined);
          });
        },
        () => socket.end('HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'),
      );
    },
    handleManagement(req, res, body) {
      const match = CONNECTIONS_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (!match) return false;
      const ws = sockets.get(decodeURIComponent(match[1] as string));
      const gone = () =>
        res
          .writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' })
          .end(JSON.stringify({ message: 'Connection is gone' }));
      if (!ws || ws.readyState !== WebSocket.OPEN) return gone(), true;
      if (req.method === 'POST') {
        if (body.length > MAX_MESSAGE_BYTES) {
          res.writeHead(413, { 'x-amzn-errortype': 'PayloadTooLargeException' }).end();
          return true;
        }
        counters.pushes++;
        if (toLose > 0) toLose--;
        else ws.send(body.toString('utf8'));
        res.writeHead(200).end();
      } else if (req.method === 'DELETE') {
        ws.close(1000);
        res.writeHead(204).end();
      } else if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ connectedAt: new Date().toISOString() }));
      } else {
        res.writeHead(405).end();
      }
      return true;
    },
    dropAll() {
      for (const ws of sockets.values()) ws.terminate();
    },
    connectionCount: () => sockets.size,
    setAvailable: (value) => {
      available = value;
    },
    losePushes: (count) => {
      toLose = count;
    },
    close() {
      for (const ws of sockets.values()) ws.terminate();
      wss.close();
    },
  };
}
