import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { testS3Client } from '../support/api-harness.js';
import { type Scenario, runWithCrash } from '../support/engine-lab.js';
import { failAndRollBack, pipelineAdvance, stopMidway, stoppedWhileFreezing, uploadScenarioBundles, wideStop } from '../support/engine-scenarios.js';
import { crashingClient } from '../support/faulty-dynamodb.js';
import {
  approvedToProd,
  queuedInOrder,
  rejectedAtGate,
  retriedAfterFailure,
  stoppedMidDeployment,
  stoppedWhileOthersWait,
  supersededWhileWaiting,
  uploadPipelineBundles,
} from '../support/pipeline-scenarios.js';

let s3: S3Client;
beforeAll(async () => {
  s3 = testS3Client();
  await uploadScenarioBundles(s3);
  await uploadPipelineBundles(s3);
});
afterAll(() => s3?.destroy());

/**
 * Runs the scenario once to count its writes, then once per crash point, a
 * few at a time (each run on a table of its own); returns how many writes the
 * scenario makes.
 */
async function everyCrashPoint<C>(scenario: Scenario<C>): Promise<number> {
  const { writes, crashed, kinds } = await runWithCrash(scenario, Infinity, s3, crashingClient);
  expect(crashed).toBe(false);
  // A crash after write n interrupts what lies between write n and write n+1: every n is tried.
  // FAULT_POINTS=sampled (a quicker local run) tries each interruption (the writes before, at and after it,
  // by kind) once, and a scenario with a focus only next to the writes it is about.
  const seen = new Set<string>();
  const sampled = process.env.FAULT_POINTS === 'sampled';
  const inFocus = (n: number) => !scenario.focus || [kinds[n - 1], kinds[n]].some((kind) => kind !== undefined && scenario.focus?.test(kind));
  const points = Array.from({ length: writes }, (_, i) => i + 1).filter((n) => {
    const key = [kinds[n - 2], kinds[n - 1], kinds[n]].join(' → ');
    if (sampled && (seen.has(key) || !inFocus(n))) return false;
    seen.add(key);
    return true;
  });
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < points.length) {
      const n = points[next++] as number;
      try {
        const result = await runWithCrash(scenario, n, s3, crashingClient);
        expect(result.crashed).toBe(true);
      } catch (error) {
        failures.push(`crash after write ${n} (${kinds[n - 1]}): ${(error as Error).message.split('\n').slice(0, 6).join(' ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 3 }, lane));
  expect(failures).toEqual([]);
  return writes;
}

/**
 * The engine (API, worker, reconciler: one DynamoDB client) dies right after
 * its n-th write, for every n; then clients retry what got no answer, agents
 * resend their last report, the stream redelivers what the dead worker left,
 * and the reconciler runs, until nothing moves. The invariants
 * (test/support/engine-lab.ts: checkInvariants) and the scenario's own end
 * must hold every time.
 */
describe('the engine, crashed after any single write, finishes the same way', () => {
  it('a deployment stopped mid-way: one host running, one never started, one pending', async () => {
    expect(await everyCrashPoint(stopMidway)).toBeGreaterThan(8);
  }, 600_000);

  it('a deployment stopped while its worker is still writing the instance items: all of them end Skipped and counted', async () => {
    expect(await everyCrashPoint(stoppedWhileFreezing)).toBeGreaterThan(5);
  }, 600_000);

  it('a deployment of sixty hosts stopped mid-way: the freeze, the dispatch and the stop each cross their pages', async () => {
    expect(await everyCrashPoint(wideStop)).toBeGreaterThan(8);
  }, 600_000);

  it('a deployment whose host fails, rolled back to the last good revision', async () => {
    expect(await everyCrashPoint(failAndRollBack)).toBeGreaterThan(15);
  }, 600_000);

  it('a pipeline deploying to staging, then to prod', async () => {
    expect(await everyCrashPoint(pipelineAdvance)).toBeGreaterThan(20);
  }, 600_000);

  it('an approval granted after a crash: the build reaches prod once, the decision is recorded once', async () => {
    expect(await everyCrashPoint(approvedToProd)).toBeGreaterThan(10);
  }, 600_000);

  it('an approval rejected: the execution fails at the gate and prod is never deployed', async () => {
    expect(await everyCrashPoint(rejectedAtGate)).toBeGreaterThan(3);
  }, 600_000);

  it('SUPERSEDED: a newer build waiting for a stage replaces an older waiting one, never one already let in', async () => {
    expect(await everyCrashPoint(supersededWhileWaiting)).toBeGreaterThan(10);
  }, 600_000);

  it('QUEUED: builds waiting for a stage go through it in the order they came', async () => {
    expect(await everyCrashPoint(queuedInOrder)).toBeGreaterThan(10);
  }, 600_000);

  it('a failed stage retried: its second deployment succeeds and the stage is entered twice', async () => {
    expect(await everyCrashPoint(retriedAfterFailure)).toBeGreaterThan(20);
  }, 600_000);

  it('an execution stopped at a gate: the build waiting for the gate goes next', async () => {
    expect(await everyCrashPoint(stoppedWhileOthersWait)).toBeGreaterThan(5);
  }, 600_000);

  it('an execution stopped mid-deployment: its deployment stops, the running hook is killed', async () => {
    expect(await everyCrashPoint(stoppedMidDeployment)).toBeGreaterThan(15);
  }, 600_000);
});
