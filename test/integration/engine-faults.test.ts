import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testS3Client } from '../support/api-harness.js';
import { dynamoLab } from '../support/dynamo-lab.js';
import { type Lab, type Scenario, runWithFaults } from '../support/engine-lab.js';
import { failAndRollBack, pipelineAdvance, stopMidway, stoppedWhileFreezing, uploadScenarioBundles } from '../support/engine-scenarios.js';

let s3: S3Client;
let lab: Lab;
beforeAll(async () => {
  s3 = testS3Client();
  lab = dynamoLab(s3, await uploadScenarioBundles(s3));
});
afterAll(() => s3?.destroy());

/**
 * DynamoDB Local serialises transactions and never throttles: here the
 * engine's client cancels transactions for a TransactionConflict, throttles,
 * loses the answers of writes that took effect, and leaves batch-written items
 * unprocessed, at random (seeded). The
 * SDK's retries, the adapters' own, the stream's and the clients' must still
 * bring every scenario to the same end, with the engine's invariants intact.
 * (The same scenarios, and more, run under random faults on the in-memory
 * fakes: test/fakes/engine-faults.test.ts.) Each case has a table and clients
 * of its own, so the cases run side by side.
 */
describe('under random transaction conflicts, throttling and timeouts', () => {
  const cases: [string, number, Scenario<any>][] = [
    ['a deployment stopped mid-way still ends Stopped', 11, stopMidway],
    ['a deployment stopped mid-way still ends Stopped', 23, stopMidway],
    ['a deployment stopped while its targets are frozen still skips and counts every instance', 3, stoppedWhileFreezing],
    ['a deployment stopped while its targets are frozen still skips and counts every instance', 29, stoppedWhileFreezing],
    ['a failed deployment is still rolled back once', 37, failAndRollBack],
    ['a failed deployment is still rolled back once', 41, failAndRollBack],
    ['a pipeline still deploys to staging, then prod', 5, pipelineAdvance],
    ['a pipeline still deploys to staging, then prod', 17, pipelineAdvance],
  ];

  it.concurrent.each(cases)('%s (seed %i)', async (_name, seed, scenario) => {
    const faults = await runWithFaults(scenario, seed, lab);
    // The first call that can take each kind of fault takes it (test/support/faulty-dynamodb.ts): no seed skips one.
    expect(Object.keys(faults).filter((kind) => !(faults[kind]! > 0))).toEqual([]);
    expect(Object.keys(faults).sort()).toEqual(['conflicts', 'throttles', 'timeouts', 'unprocessed']);
  }, 120_000);
});
