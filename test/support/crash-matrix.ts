import { expect } from 'vitest';
import { type Lab, type Scenario, runWithCrash } from './engine-lab.js';
import { catchUpWhileBusy, failAndRollBack, hookCredentialsRefused, pipelineAdvance, queueWhileBusy, stopMidway, stoppedWhileFreezing, wideStop } from './engine-scenarios.js';
import {
  approvedToProd,
  queuedInOrder,
  rejectedAtGate,
  retriedAfterFailure,
  stoppedMidDeployment,
  stoppedWhileOthersWait,
  supersededWhileWaiting,
} from './pipeline-scenarios.js';

/**
 * Every scenario the crash matrix runs, with the fewest writes it must make
 * (a scenario that suddenly writes less no longer exercises what it is about).
 */
export const CRASH_SCENARIOS: [name: string, scenario: Scenario<any>, minimumWrites: number][] = [
  ['a deployment stopped mid-way: one host running, one never started, one pending', stopMidway, 8],
  ['a deployment stopped while its worker is still writing the instance items: all of them end Skipped and counted', stoppedWhileFreezing, 5],
  ['a deployment of sixty hosts stopped mid-way: the freeze, the dispatch and the stop each cross their pages', wideStop, 8],
  ['a deployment whose host fails, rolled back to the last good revision', failAndRollBack, 15],
  ['QUEUE group: deployments queued behind a running one start in creation order as the group frees; one stopped while queued never starts', queueWhileBusy, 20],
  ['an instance joining a busy group after its last success: caught up once, to what the group has when it frees', catchUpWhileBusy, 15],
  ['a pipeline deploying to staging, then to prod', pipelineAdvance, 20],
  ['an approval granted after a crash: the build reaches prod once, the decision is recorded once', approvedToProd, 10],
  ['an approval rejected: the execution fails at the gate and prod is never deployed', rejectedAtGate, 3],
  ['SUPERSEDED: a newer build waiting for a stage replaces an older waiting one, never one already let in', supersededWhileWaiting, 10],
  ['QUEUED: builds waiting for a stage go through it in the order they came', queuedInOrder, 10],
  ['a failed stage retried: its second deployment succeeds and the stage is entered twice', retriedAfterFailure, 20],
  ['an execution stopped at a gate: the build waiting for the gate goes next', stoppedWhileOthersWait, 5],
  ['an execution stopped mid-deployment: its deployment stops, the running hook is killed', stoppedMidDeployment, 15],
];

/**
 * Scenarios the exhaustive matrix on the fakes runs besides those: their AWS
 * answer (an STS refusal) is one the fakes give at will and DynamoDB Local's
 * lab, whose STS is the real client, cannot.
 */
export const FAKES_ONLY_CRASH_SCENARIOS: typeof CRASH_SCENARIOS = [
  ['hook credentials refused by STS: each host\'s instance fails naming the role, its work withdrawn in the same write', hookCredentialsRefused, 4],
];

/** Runs the scenario once without a crash: how many writes it makes, and what each is. */
export async function countWrites<C>(scenario: Scenario<C>, lab: Lab): Promise<{ writes: number; kinds: string[] }> {
  const { writes, crashed, kinds } = await runWithCrash(scenario, Infinity, lab);
  expect(crashed).toBe(false);
  return { writes, kinds };
}

/**
 * Runs the scenario once per crash point in `points` (a crash after write n
 * interrupts what lies between write n and write n+1), `lanes` at a time, and
 * expects every run to end with the invariants and the scenario's own end.
 */
export async function crashAt<C>(scenario: Scenario<C>, points: number[], kinds: string[], lab: Lab, { lanes = 3, label = '' } = {}): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < points.length) {
      const n = points[next++] as number;
      try {
        const result = await runWithCrash(scenario, n, lab);
        expect(result.crashed).toBe(true);
      } catch (error) {
        failures.push(`${label}crash after write ${n} (${kinds[n - 1]}): ${(error as Error).message.split('\n').slice(0, 6).join(' ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  expect(failures).toEqual([]);
}
