import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { S3Event } from 'aws-lambda';
import S3rver from 's3rver';

export interface S3Local {
  endpoint: string;
  /** Requests made through presigned URLs (what agents send: bundle downloads, log uploads), per method. */
  presignedRequests: Map<string, number>;
  stop(): Promise<void>;
}

/** S3 encodes notification keys like a form: '+' for a space, percent-escapes for the rest. */
export function encodeS3EventKey(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');
}

/**
 * Starts s3rver on loopback with the given buckets. Each object-created event is
 * handed to `onEvent` with its key encoded as S3 itself would send it.
 */
export async function startS3Local(options: {
  port: number;
  directory: string;
  buckets: string[];
  onEvent?: (event: S3Event) => Promise<void> | void;
  onError?: (error: unknown) => void;
}): Promise<S3Local> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    port: options.port,
    address: '127.0.0.1',
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  server.on('event', (event: S3Event) => {
    if (!options.onEvent) return;
    const records = event.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
      ...r,
      s3: { ...r.s3, object: { ...r.s3.object, key: encodeS3EventKey(r.s3.object.key) } },
    }));
    if (records.length === 0) return;
    Promise.resolve(options.onEvent({ Records: records })).catch((error) => options.onError?.(error));
  });
  await server.run();
  const presignedRequests = new Map<string, number>();
  (server as unknown as { httpServer: Server }).httpServer.on('request', (req: IncomingMessage) => {
    if (!new URL(req.url ?? '/', 'http://localhost').searchParams.has('X-Amz-Signature')) return;
    const method = req.method ?? '?';
    presignedRequests.set(method, (presignedRequests.get(method) ?? 0) + 1);
  });
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    presignedRequests,
    stop: async () => {
      await server.close();
    },
  };
}
