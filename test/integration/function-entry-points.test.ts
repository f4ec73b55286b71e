import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { loadEvent } from '../support/api-events.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => table?.drop());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

/** The environment serverless.yml gives the functions, pointed at DynamoDB Local. */
function configure() {
  vi.stubEnv('TABLE_NAME', table.tableName);
  vi.stubEnv('ARTIFACT_BUCKET', 'fleetline-dev-artifacts');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', inject('dynamoDbEndpoint'));
  vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
}

describe('function entry points', () => {
  it('fail at cold start, naming what is missing, when configuration is absent', async () => {
    vi.stubEnv('TABLE_NAME', '');
    vi.stubEnv('ARTIFACT_BUCKET', '');
    await expect(import('../../functions/api.js')).rejects.toThrow(/configuration is incomplete: TABLE_NAME/);
  });

  it('artifacts: accepts every record of a multi-record notification', async () => {
    configure();
    const { handler } = await import('../../functions/artifacts.js');
    expect(await handler(loadEvent('s3-object-created-multi.json'), lambdaContext('artifacts'))).toEqual({ accepted: 3, skipped: 0, started: 0 });
  });

  it('artifacts: skips a malformed record and one for another bucket without failing the rest', async () => {
    configure();
    const { handler } = await import('../../functions/artifacts.js');
    const event = loadEvent<{ Records: any[] }>('s3-object-created-multi.json');
    event.Records[0].s3.object.key = 'bad%ZZ';
    event.Records[1].s3.bucket.name = 'someone-elses-bucket';
    expect(await handler(event, lambdaContext('artifacts'))).toEqual({ accepted: 1, skipped: 2, started: 0 });
  });

  it('reconcile: runs on the scheduled event against the table', async () => {
    configure();
    const { handler } = await import('../../functions/reconcile.js');
    expect(await handler(loadEvent('scheduled.json'), lambdaContext('reconcile'))).toEqual({
      deployments: 0,
      timedOut: 0,
      lost: 0,
      neverStarted: 0,
      executions: 0,
      deferred: 0,
    });
  });

  it('worker: takes the stream event, ignores items that are neither deployments nor executions, and a deployment it cannot find', async () => {
    configure();
    const { handler } = await import('../../functions/worker.js');
    expect(await handler(loadEvent('dynamodb-stream-deployment.json'), lambdaContext('worker'))).toEqual({ batchItemFailures: [] });
  });

  it('worker: takes an EC2 instance entering running (EventBridge) and, with no group to catch it up with, does nothing', async () => {
    configure();
    const { handler } = await import('../../functions/worker.js');
    expect(await handler(loadEvent('ec2-instance-running.json'), lambdaContext('worker'))).toEqual({ instanceId: 'i-0abcd1234ef567890', outcomes: [] });
  });

  it('worker: a record whose deployment it cannot move on is reported alone, for the stream to retry', async () => {
    configure();
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://127.0.0.1:9'); // nothing listens: every read fails
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    const { handler } = await import('../../functions/worker.js');
    expect(await handler(loadEvent('dynamodb-stream-deployment.json'), lambdaContext('worker'))).toEqual({
      batchItemFailures: [{ itemIdentifier: '111100000000000000001' }],
    });
  });
});
