import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testS3Client } from '../support/api-harness.js';
import { CRASH_SCENARIOS, countWrites, crashAt } from '../support/crash-matrix.js';
import { dynamoLab } from '../support/dynamo-lab.js';
import type { Lab } from '../support/engine-lab.js';
import { uploadScenarioBundles } from '../support/engine-scenarios.js';
import { uploadPipelineBundles } from '../support/pipeline-scenarios.js';

let s3: S3Client;
let lab: Lab;
beforeAll(async () => {
  s3 = testS3Client();
  lab = dynamoLab(s3, new Map([...(await uploadScenarioBundles(s3)), ...(await uploadPipelineBundles(s3))]));
});
afterAll(() => s3?.destroy());

/** A seeded choice: the same seed picks the same crash points. */
function picker(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/**
 * The crash matrix runs every crash point of every scenario on the in-memory
 * fakes (test/fakes/engine-crashes.test.ts). Here, on DynamoDB Local through
 * the real adapters, a seeded sample of them: for every kind of write any
 * scenario makes (the request and what it updates), one crash point right
 * after a write of that kind, chosen at random among all of them. The seed is
 * printed; CRASH_SEED=<seed> runs the same sample again, FAULT_POINTS=all runs
 * every crash point of every scenario here too.
 */
describe('the engine on DynamoDB, crashed after a sample of its writes (one per kind of write), finishes the same way', () => {
  const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const all = process.env.FAULT_POINTS === 'all';

  it('every scenario, at its sampled crash points', async () => {
    console.log(`Crash sample seed ${seed} (CRASH_SEED=${seed} runs the same sample again)`);
    const counted = [];
    for (const [name, scenario, minimumWrites] of CRASH_SCENARIOS) {
      const { writes, kinds } = await countWrites(scenario, lab);
      expect(writes, name).toBeGreaterThan(minimumWrites);
      counted.push({ name, scenario, kinds });
    }
    // Every crash point, by the kind of write it comes right after.
    const byKind = new Map<string, { scenario: number; point: number }[]>();
    counted.forEach(({ kinds }, scenario) =>
      kinds.forEach((kind, i) => byKind.set(kind, [...(byKind.get(kind) ?? []), { scenario, point: i + 1 }])),
    );
    const pick = picker(seed);
    const chosen = new Map<number, Set<number>>();
    for (const kind of [...byKind.keys()].sort()) {
      const candidates = byKind.get(kind) ?? [];
      for (const { scenario, point } of all ? candidates : [candidates[pick(candidates.length)] as { scenario: number; point: number }]) {
        chosen.set(scenario, (chosen.get(scenario) ?? new Set()).add(point));
      }
    }
    console.log(`${byKind.size} kinds of write; ${[...chosen.values()].reduce((n, s) => n + s.size, 0)} crash points`);
    for (const [index, points] of [...chosen].sort(([a], [b]) => a - b)) {
      const { name, scenario, kinds } = counted[index] as (typeof counted)[number];
      await crashAt(scenario, [...points].sort((a, b) => a - b), kinds, lab, { label: `${name}: ` });
    }
  }, 1_800_000);
});
