import { describe, expect, it } from 'vitest';
import { type Scenario, runWithFaults } from '../support/engine-lab.js';
import { SCENARIO_BUNDLES, failAndRollBack, pipelineAdvance, stopMidway, stoppedWhileFreezing, wideStop } from '../support/engine-scenarios.js';
import { fakeLab } from '../support/fake-lab.js';
import { PIPELINE_BUNDLES, approvedToProd, retriedAfterFailure, stoppedMidDeployment } from '../support/pipeline-scenarios.js';

const lab = fakeLab([...SCENARIO_BUNDLES, ...PIPELINE_BUNDLES]);

/**
 * The engine's storage loses the answers of writes that took effect (the
 * SDK's retry replays them: a conditional write is refused the second time,
 * a transaction answers as the first time) and leaves batch writes' items for
 * a second request, at random (seeded). The engine must bring every scenario
 * to the same end, with its invariants intact. The same scenarios run on
 * DynamoDB Local with faults below the SDK (test/integration/engine-faults.test.ts).
 */
describe('under random lost answers and split batch writes', () => {
  const total: Record<string, number> = {};
  const scenarios: [string, Scenario<any>][] = [
    ['a deployment stopped mid-way still ends Stopped', stopMidway],
    ['a deployment stopped while its targets are frozen still skips and counts every instance', stoppedWhileFreezing],
    ['a deployment of sixty hosts stopped mid-way still skips and counts every instance', wideStop],
    ['a failed deployment is still rolled back once', failAndRollBack],
    ['a pipeline still deploys to staging, then prod', pipelineAdvance],
    ['an approval still lets the build reach prod once', approvedToProd],
    ['a failed stage is still retried once', retriedAfterFailure],
    ['an execution stopped mid-deployment still stops its deployment', stoppedMidDeployment],
  ];
  const seeds = [3, 5, 11, 17, 23, 29, 37, 41];
  const cases = scenarios.flatMap(([name, scenario]) => seeds.map((seed): [string, number, Scenario<any>] => [name, seed, scenario]));

  it.each(cases)('%s (seed %i)', async (_name, seed, scenario) => {
    const faults = await runWithFaults(scenario, seed, lab);
    for (const [kind, n] of Object.entries(faults)) total[kind] = (total[kind] ?? 0) + n;
  }, 60_000);

  it('injected every kind of fault along the way', () => {
    expect(total.replays).toBeGreaterThan(0);
    expect(total.unprocessed).toBeGreaterThan(0);
  });
});
