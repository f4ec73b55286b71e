import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { ready } from '../lib/adapters/aws/lazy.js';
import { buildApiDeps } from '../lib/wiring/build-deps.js';
import { createApiHandler } from '../lib/api/handler.js';
import { createDocumentClient } from '../lib/adapters/dynamodb/client.js';
import { loadConfig } from '../lib/config.js';
import { LOCAL_CREDENTIALS, ensureTable, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { freePort } from '../local/ports.js';
import { allAdapters } from '../test/support/all-adapters.js';
import { apiClient } from '../test/support/api-events.js';
import { meterCapacity } from './capacity-meter.js';

/**
 * An in-memory DynamoDB Local with the API's handler and use cases over it, metered (the worker's writes too).
 * With `s3Endpoint` (an s3rver) bundles are presigned for and checked against it; without, S3 is stubbed.
 */
export async function startBenchStack(options: { s3Endpoint?: string } = {}) {
  const dynamo = await startDynamoDbLocal(await freePort());
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  const meter = meterCapacity(client);
  const tableName = 'fleetline-bench';
  await ensureTable(dynamo.client, tableName);
  const config = loadConfig({
    TABLE_NAME: tableName,
    ARTIFACT_BUCKET: 'fleetline-bench-artifacts',
    S3_FORCE_PATH_STYLE: 'true',
    ADMIN_PRINCIPALS: 'arn:aws:iam::111122223333:role/platform-engineer',
    AGENT_ACCOUNTS: '000000000000',
  });
  const doc = createDocumentClient(client);
  const clients = {
    doc,
    s3: ready(new S3Client({ region: 'us-east-1', endpoint: options.s3Endpoint ?? 'http://127.0.0.1:9', credentials: LOCAL_CREDENTIALS, forcePathStyle: true })),
  };
  const deps = {
    ...buildApiDeps(config, clients, allAdapters(config, clients, ready(new STSClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS })))),
    // The figures here are the table's: the revision check's S3 reads are measured by upload-to-success.
    ...(options.s3Endpoint
      ? {}
      : { appspecs: { head: async () => ({ eTag: '"bench"', size: 1024 }), read: async () => ({ appspec: 'version: 0.0\nos: linux\n' }), sha256: async () => ({ sha256: '0'.repeat(64) }) } }),
  };
  return {
    deps,
    doc,
    tableName,
    meter,
    client,
    call: apiClient(createApiHandler(deps)),
    async stop() {
      client.destroy();
      await dynamo.stop();
    },
  };
}
