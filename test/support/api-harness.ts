import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, inject } from 'vitest';
import { ready } from '../../lib/adapters/aws/lazy.js';
import { buildApiDeps } from '../../lib/wiring/build-deps.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { loadConfig } from '../../lib/config.js';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { allAdapters } from './all-adapters.js';
import { apiClient } from './api-events.js';

/** The sample events' caller (alice) assumes this role; tests make it the administrator. */
export const SAMPLE_ADMIN_ROLE = 'arn:aws:iam::111122223333:role/platform-engineer';
import { type TestTable, createTestTable } from './dynamo.js';

/** A clock tests can move forward (the reconciler acts on deadlines). */
export class TestClock {
  offsetMs = 0;
  now = () => new Date(Date.now() + this.offsetMs);
  advance(seconds: number) {
    this.offsetMs += seconds * 1000;
  }
}

/** The run's s3rver, as the tests' S3 client. */
export function testS3Client(): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint: inject('s3Endpoint'), credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
}

/** The API's dependencies over a table (through `doc`, which a test may wrap to inject faults). */
export function testApiDeps(doc: DynamoDBDocumentClient, tableName: string, s3: S3Client, clock: TestClock): ApiDeps {
  const config = loadConfig({
    TABLE_NAME: tableName,
    ARTIFACT_BUCKET: 'fleetline-test-artifacts',
    STAGE: 'test',
    S3_FORCE_PATH_STYLE: 'true',
    ADMIN_PRINCIPALS: SAMPLE_ADMIN_ROLE,
    AGENT_ACCOUNTS: '000000000000',
    CREDENTIAL_ACCOUNTS: '111122223333',
  });
  const clients = { doc, s3: ready(s3) };
  const sts = ready(new STSClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS }));
  return { ...buildApiDeps(config, clients, allAdapters(config, clients, sts)), clock };
}

/**
 * The API handler over a fresh DynamoDB Local table, for one test file, with
 * the worker fed by that table's stream through the local poller (the same
 * path as `npm start`). `call` first waits until the stream has settled (the
 * worker has done everything earlier requests recorded), so a scenario reads
 * what a user would see once the work is done; `send` goes straight in. `overrides` replaces dependencies (e.g. a repository that fails on purpose).
 */
export function useApi(overrides: (deps: ApiDeps) => Partial<ApiDeps> = () => ({})) {
  const state = {} as {
    table: TestTable;
    call: ReturnType<typeof apiClient>;
    send: ReturnType<typeof apiClient>;
    settle: () => Promise<void>;
    stream: StreamPoller;
    deps: ApiDeps;
    clock: TestClock;
    s3: S3Client;
  };
  beforeAll(async () => {
    state.table = await createTestTable();
    state.clock = new TestClock();
    // S3 is the run's s3rver; STS and EC2 are never reached unless a test mocks them.
    state.s3 = testS3Client();
    const deps = testApiDeps(state.table.doc, state.table.tableName, state.s3, state.clock);
    state.deps = { ...deps, ...overrides(deps) };
    state.stream = await startStreamPoller({
      client: state.table.client,
      tableName: state.table.tableName,
      handler: createStreamHandler(state.deps),
      maximumRetryAttempts: 2,
    });
    state.settle = () => state.stream.settle(60_000);
    state.send = apiClient(createApiHandler(state.deps));
    state.call = async (...args: Parameters<typeof state.send>) => {
      await state.settle();
      return state.send(...args);
    };
  });
  afterAll(async () => {
    await state.stream?.stop();
    state.s3?.destroy();
    await state.table?.drop();
  });
  return state;
}
