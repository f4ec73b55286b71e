import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamHandler } from '../../local/stream-poller.js';
import { createFakeFleet, fakeApiDeps } from '../fakes/fleet.js';
import { Meter } from '../fakes/store.js';
import { type Lab, type LabBackend, engineOf } from './engine-lab.js';
import { MINIMAL_APPSPEC } from './bundles.js';

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * A change as the table's stream delivers it to the worker (lib/worker/handle-stream.ts):
 * its new image names the item's type and, for deployments and executions, their ID.
 */
function streamRecord(change: { type: string; id: string; old?: unknown; new?: unknown }, sequence: number): DynamoDBRecord {
  const id = change.type === 'Deployment' ? { deploymentId: change.id } : change.type === 'Execution' ? { executionId: change.id } : {};
  // An instance's record carries its tags, old and new: the worker reads what it starts matching from them.
  const image = (item: unknown) =>
    marshall(change.type === 'Instance' ? { type: change.type, instanceId: change.id, tags: (item as { tags?: unknown }).tags ?? [] } : { type: change.type, ...id }) as never;
  return {
    eventName: change.new === undefined ? 'REMOVE' : change.old === undefined ? 'INSERT' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: String(sequence).padStart(21, '0'),
      ...(change.new === undefined ? {} : { NewImage: image(change.new) }),
      ...(change.old === undefined || change.type !== 'Instance' ? {} : { OldImage: image(change.old) }),
    },
  };
}

/**
 * The lab on the in-memory fakes (test/fakes): fresh records per run, the
 * scenario bundles in a fake S3, and a stream fed by the fakes' change log.
 */
export function fakeLab(bundleKeys: readonly string[]): Lab {
  return async (): Promise<LabBackend> => {
    const fleet = createFakeFleet();
    const eTags = new Map(bundleKeys.map((key) => [key, fleet.bundles.put('fleetline-test-artifacts', key, { 'appspec.yml': MINIMAL_APPSPEC, 'build.txt': key })]));
    const backlog: DynamoDBRecord[] = [];
    let sequence = 0;
    fleet.store.onChange((change) => backlog.push(streamRecord(change, ++sequence)));
    return {
      name: 'fakes',
      changes: fleet.store.changes,
      builds: fleet.builds,
      healthy: (clock) => engineOf(fakeApiDeps(fleet, clock)),
      engine(clock, { crashAfter, faultSeed }) {
        const meter = new Meter(crashAfter ?? Infinity, faultSeed === undefined ? undefined : xorshift(faultSeed));
        return {
          engine: engineOf(fakeApiDeps(fleet, clock, meter), { dead: () => meter.dead, flaky: faultSeed !== undefined }),
          writes: () => meter.writes,
          crashed: () => meter.dead,
          kinds: meter.kinds,
          faults: () => ({ ...meter.faults }),
          close: () => undefined,
        };
      },
      async deliver(handler: StreamHandler, batchSize = 100) {
        let handled = 0;
        while (backlog.length > 0) {
          const batch = backlog.slice(0, batchSize);
          const result = await handler({ Records: batch });
          const failed = result?.batchItemFailures?.[0]?.itemIdentifier;
          if (failed !== undefined) {
            const at = Math.max(0, batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed));
            backlog.splice(0, at);
            return { outcome: 'failed' as const, handled: handled + at };
          }
          backlog.splice(0, batch.length);
          handled += batch.length;
        }
        return { outcome: 'settled' as const, handled };
      },
      async rememberSuccess(application, group, last) {
        const found = fleet.store.state.groups.get(`${application}/${group}`);
        if (!found) throw new Error(`No group ${application}/${group}`);
        found.lastSuccessful = structuredClone(last);
      },
      eTagOf(key) {
        const eTag = eTags.get(key);
        if (eTag === undefined) throw new Error(`No bundle at ${key}`);
        return eTag;
      },
      async checkStorage() {},
      async close() {},
    };
  };
}
