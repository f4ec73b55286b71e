import { describe, expect, it } from 'vitest';
import { FREEZE_LEASE_SECONDS, TARGET_RESOLUTION_GRACE_SECONDS } from '../../lib/domain/freeze-lease.js';
import { DependencyError, UnprocessableError } from '../../lib/errors.js';
import type { InstanceDeployment } from '../../lib/domain/deployment.js';
import { advanceDeployment } from '../../lib/worker/advance-deployment.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import type { Engine, LabRun } from '../support/engine-lab.js';
import { engineOver } from '../support/dynamo-lab.js';
import { BUCKET, ok, registerFleet, useEngine } from '../support/engine-scenarios.js';

const lab = useEngine();

/** A group of `size` hosts and a deployment to it, recorded and not yet picked up by any worker. */
async function createdDeployment(size: number): Promise<string> {
  await registerFleet({ healthy: lab.engine, agents: [] } as unknown as LabRun, 'shop', 'prod', size, {});
  const res = await ok(lab.engine, lab.engine.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
  return res.body.deploymentId;
}

/** A second engine process over the same table: its own repositories, the same clock. */
const otherWorker = () => engineOver(lab.table.client, lab.table.tableName, lab.s3, lab.clock).deps;

const stop = (id: string) => ok(lab.engine, lab.engine.send('POST', `/deployments/${id}/stop`, { body: { rollback: false } }), [202]);
const deploymentOf = async (id: string) => (await lab.engine.deps.deployments.get(id))!;
const itemsOf = async (id: string) => (await lab.engine.deps.instanceDeployments.list(id, { limit: 100 })).items;

/** Makes the worker's instance writes stop after the first item, until `release` is called (or fail there). */
function pauseAfterFirstItem(deps: Engine['deps'], then: 'wait' | 'fail' = 'wait') {
  const repository = deps.instanceDeployments;
  const putAll = repository.putAll.bind(repository);
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const paused = new Promise<void>((r) => (reached = r));
  repository.putAll = async (items: InstanceDeployment[]) => {
    await putAll(items.slice(0, 1));
    reached();
    if (then === 'fail') throw new Error('the table went away');
    await released;
    await putAll(items.slice(1));
  };
  return { paused, release };
}

/** A deployment of three hosts whose freeze worker died after writing one item, and then a stop. */
async function diedFreezingThenStopped(): Promise<string> {
  const id = await createdDeployment(3);
  const dying = pauseAfterFirstItem(lab.engine.deps);
  void advanceDeployment(id, lab.engine.deps); // never released: this process died with one item written
  await dying.paused;
  await stop(id);
  return id;
}

describe('freezing a deployment’s targets', () => {
  it('while one worker writes the instance items, another worker and the reconciler leave the deployment alone, and a stop waits for the freeze', async () => {
    const id = await createdDeployment(3);
    const freezing = pauseAfterFirstItem(lab.engine.deps);
    const first = advanceDeployment(id, lab.engine.deps);
    await freezing.paused;
    await stop(id);
    // The stop's own stream record, and the scheduled reconciler, come while the first worker still writes.
    await advanceDeployment(id, otherWorker());
    await reconcileAll(otherWorker());
    expect(await deploymentOf(id)).toMatchObject({ status: 'Created', stopRequested: { rollback: false } });
    expect((await itemsOf(id)).map((i) => i.status)).toEqual(['Pending']);

    freezing.release();
    await first;
    const stopped = await deploymentOf(id);
    expect(stopped).toMatchObject({ status: 'Stopped', fleetSize: 3, error: { code: 'StoppedByRequest' } });
    expect(stopped.counts).toEqual({ pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 3, unknown: 0 });
    expect((await itemsOf(id)).map((i) => i.status)).toEqual(['Skipped', 'Skipped', 'Skipped']);
  });

  it('when a worker fails mid-way, the next one takes over once its lease has run out, and the fleet counts what both wrote', async () => {
    const id = await createdDeployment(3);
    pauseAfterFirstItem(lab.engine.deps, 'fail');
    await expect(advanceDeployment(id, lab.engine.deps)).rejects.toThrow('the table went away');
    expect(await itemsOf(id)).toHaveLength(1);

    // The stream's retry comes at once: the lease is still the failed worker's, and nothing is written.
    await advanceDeployment(id, otherWorker());
    expect((await deploymentOf(id)).status).toBe('Created');
    expect(await itemsOf(id)).toHaveLength(1);

    lab.clock.advance(FREEZE_LEASE_SECONDS);
    await advanceDeployment(id, otherWorker());
    const started = await deploymentOf(id);
    expect(started).toMatchObject({ status: 'InProgress', fleetSize: 3 });
    expect(started.freezeLease).toBeUndefined();
    expect(started.counts.pending + started.counts.inProgress).toBe(3);
    expect(await itemsOf(id)).toHaveLength(3);
  });

  it('when a worker dies mid-way and a stop comes, the reconciler takes over once the lease has run out, and every instance it froze ends Skipped and counted', async () => {
    const id = await diedFreezingThenStopped();

    lab.clock.advance(FREEZE_LEASE_SECONDS - 5);
    await reconcileAll(otherWorker());
    expect((await deploymentOf(id)).status).toBe('Created');

    lab.clock.advance(10);
    await reconcileAll(otherWorker());
    const stopped = await deploymentOf(id);
    // A stop freezes nothing more: the one item the dead worker wrote is the whole fleet.
    expect(stopped).toMatchObject({ status: 'Stopped', fleetSize: 1, counts: { skipped: 1, pending: 0 } });
    expect((await itemsOf(id)).map((i) => i.status)).toEqual(['Skipped']);
  });

  it('a stop that comes before any worker began ends the deployment at once, with no instance written', async () => {
    const id = await createdDeployment(2);
    await stop(id);
    await advanceDeployment(id, lab.engine.deps);
    expect(await deploymentOf(id)).toMatchObject({ status: 'Stopped', fleetSize: 0 });
    expect(await itemsOf(id)).toEqual([]);
  });

  describe('when the group’s targets cannot be resolved', () => {
    /** Target resolution fails with `error` (registered instances are listed to resolve them) for these deps; counts the attempts. */
    function failResolution(deps: Engine['deps'], error: Error) {
      const calls = { count: 0 };
      deps.instances.listAll = async () => {
        calls.count++;
        throw error;
      };
      return calls;
    }
    const groupIsFree = async () => {
      const res = await lab.engine.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } });
      return res.status;
    };

    it('a stop still completes, without another lookup: the dead worker’s items are the fleet, skipped and counted', async () => {
      const id = await diedFreezingThenStopped();
      const takeover = otherWorker();
      const lookups = failResolution(takeover, new DependencyError('EC2 failed to describe instances; retry later'));
      lab.clock.advance(FREEZE_LEASE_SECONDS);
      await advanceDeployment(id, takeover);
      expect(await deploymentOf(id)).toMatchObject({ status: 'Stopped', fleetSize: 1, counts: { skipped: 1, pending: 0 }, error: { code: 'StoppedByRequest' } });
      expect((await itemsOf(id)).map((i) => i.status)).toEqual(['Skipped']);
      expect(lookups.count).toBe(0);
    });

    it('a cause retrying cannot fix fails the deployment at once, naming it, and frees the group', async () => {
      const id = await createdDeployment(2);
      failResolution(lab.engine.deps, new UnprocessableError("EC2 refused DescribeInstances in eu-west-1: the group's targetRoleArn needs ec2:DescribeInstances"));
      await advanceDeployment(id, lab.engine.deps);
      const failed = await deploymentOf(id);
      expect(failed).toMatchObject({ status: 'Failed', error: { code: 'TargetResolutionFailed' } });
      expect(failed.error?.message).toContain("the group's targetRoleArn needs ec2:DescribeInstances");
      expect(await itemsOf(id)).toEqual([]);
      expect(await groupIsFree()).toBe(201);
    });

    it('a passing cause is tried again each time the lease runs out, until the grace period has passed; then the deployment fails without showing internals', async () => {
      const id = await createdDeployment(2);
      const lookups = failResolution(lab.engine.deps, new Error('connect ECONNREFUSED 10.1.2.3:443'));
      await expect(advanceDeployment(id, lab.engine.deps)).rejects.toThrow('ECONNREFUSED');
      for (let waited = 0; waited < TARGET_RESOLUTION_GRACE_SECONDS; waited += FREEZE_LEASE_SECONDS) {
        expect((await deploymentOf(id)).status).toBe('Created');
        lab.clock.advance(FREEZE_LEASE_SECONDS);
        await reconcileAll(lab.engine.deps);
      }
      const failed = await deploymentOf(id);
      expect(failed).toMatchObject({ status: 'Failed', error: { code: 'TargetResolutionFailed' } });
      expect(failed.error?.message).not.toContain('ECONNREFUSED');
      expect(failed.error?.message).not.toContain('10.1.2.3');
      expect(lookups.count).toBe(TARGET_RESOLUTION_GRACE_SECONDS / FREEZE_LEASE_SECONDS + 1);
      expect(await groupIsFree()).toBe(201);
    });

    it('items a dead worker froze are counted and skipped when the deployment fails', async () => {
      const id = await createdDeployment(3);
      pauseAfterFirstItem(lab.engine.deps, 'fail');
      await expect(advanceDeployment(id, lab.engine.deps)).rejects.toThrow('the table went away');
      const takeover = otherWorker();
      failResolution(takeover, new UnprocessableError('STS refused to let Fleetline assume the targetRoleArn arn:aws:iam::111122223333:role/x'));
      lab.clock.advance(FREEZE_LEASE_SECONDS);
      await advanceDeployment(id, takeover);
      expect(await deploymentOf(id)).toMatchObject({
        status: 'Failed',
        fleetSize: 1,
        counts: { pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 1, unknown: 0 },
        error: { code: 'TargetResolutionFailed' },
      });
      expect((await itemsOf(id)).map((i) => i.status)).toEqual(['Skipped']);
    });
  });
});

