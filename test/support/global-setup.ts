import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { freePort } from '../../local/ports.js';
import { startS3Local } from '../../local/s3-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    s3Endpoint: string;
  }
}

/** Buckets every integration test may use on the shared S3 server. */
export const TEST_BUCKETS = ['fleetline-dev-artifacts', 'fleetline-test-artifacts'];

/** One in-memory DynamoDB Local and one s3rver for the run; test files work in tables and keys of their own. */
export default async function setup(project: TestProject) {
  const s3Dir = mkdtempSync(join(tmpdir(), 'fleetline-s3-'));
  const dynamo = await startDynamoDbLocal(await freePort());
  let s3: Awaited<ReturnType<typeof startS3Local>> | undefined;
  try {
    s3 = await startS3Local({ port: await freePort(), directory: s3Dir, buckets: TEST_BUCKETS });
  } catch (error) {
    await dynamo.stop();
    rmSync(s3Dir, { recursive: true, force: true });
    throw error;
  }
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    dynamo.client.destroy();
    await Promise.allSettled([dynamo.stop(), s3?.stop()]);
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
