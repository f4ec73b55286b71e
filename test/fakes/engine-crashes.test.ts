import { describe, expect, it } from 'vitest';
import { CRASH_SCENARIOS, FAKES_ONLY_CRASH_SCENARIOS, countWrites, crashAt } from '../support/crash-matrix.js';
import { SCENARIO_BUNDLES } from '../support/engine-scenarios.js';
import { BUILD_CRASH_SCENARIOS } from '../support/build-scenarios.js';
import { fakeLab } from '../support/fake-lab.js';
import { PIPELINE_BUNDLES } from '../support/pipeline-scenarios.js';

const lab = fakeLab([...SCENARIO_BUNDLES, ...PIPELINE_BUNDLES]);

/**
 * The engine (API, worker, reconciler: one set of ports over the in-memory
 * fakes) dies right after its n-th write, for EVERY n of every scenario; then
 * clients retry what got no answer, agents resend their last report, the
 * stream redelivers what the dead worker left, and the reconciler runs, until
 * nothing moves. The invariants (test/support/engine-lab.ts: checkInvariants)
 * and the scenario's own end must hold every time. The fakes write in the same
 * steps as the DynamoDB adapters (test/contract), and a seeded sample of these
 * crash points runs on DynamoDB Local (test/integration/engine-crashes.test.ts).
 */
describe('the engine, crashed after any single write, finishes the same way', () => {
  it.each([...CRASH_SCENARIOS, ...FAKES_ONLY_CRASH_SCENARIOS])('%s', async (_name, scenario, minimumWrites) => {
    const { writes, kinds } = await countWrites(scenario, lab);
    expect(writes).toBeGreaterThan(minimumWrites);
    await crashAt(scenario, Array.from({ length: writes }, (_, i) => i + 1), kinds, lab, { lanes: 1 });
  }, 120_000);
});

describe('a pipeline with a build action, crashed after any single write, finishes the same way', () => {
  it.each(BUILD_CRASH_SCENARIOS)('%s', async (_name, scenario, minimumWrites) => {
    const { writes, kinds } = await countWrites(scenario, lab);
    expect(writes).toBeGreaterThan(minimumWrites);
    await crashAt(scenario, Array.from({ length: writes }, (_, i) => i + 1), kinds, lab, { lanes: 1 });
  }, 120_000);
});
