import { describe, expect, it } from 'vitest';
import { advanceDeployment } from '../../lib/worker/advance-deployment.js';
import type { DeploymentsRepository, InstanceDeploymentsRepository, InstanceNotifier } from '../../lib/ports.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';

/**
 * The worker pass that reserves a batch dispatches it from the chunks it just
 * wrote and pushes each chunk's agents before it closes the batch; a pass that
 * died in between leaves the batch open, and the next one dispatches it, once.
 */
const events: string[] = [];
let reservedFor: string | undefined;
let failNextDispatch = false;
let chunkReads = 0;

const api = useApi((deps) => {
  const deployments: DeploymentsRepository = Object.create(deps.deployments);
  deployments.reserveBatch = async (id, reservation) => {
    const reserved = await deps.deployments.reserveBatch(id, reservation);
    if (reserved) {
      reservedFor = id;
      events.push(`reserve ${reservation.token}`);
    }
    return reserved;
  };
  deployments.closeBatch = async (id, token) => {
    events.push(`close ${token}`);
    await deps.deployments.closeBatch(id, token);
  };
  const instanceDeployments: InstanceDeploymentsRepository = Object.create(deps.instanceDeployments);
  instanceDeployments.reservedChunks = async (id) => {
    chunkReads++;
    return deps.instanceDeployments.reservedChunks(id);
  };
  instanceDeployments.dispatchChunk = async (id, chunk, options) => {
    if (failNextDispatch) {
      failNextDispatch = false;
      throw new Error('the worker died after reserving the batch');
    }
    return deps.instanceDeployments.dispatchChunk(id, chunk, options);
  };
  const notifier: InstanceNotifier = {
    async wake(ids, reason) {
      // What an agent woken now would find: its instance already dispatched.
      const found = await Promise.all(ids.map((i) => deps.instanceDeployments.get(reservedFor as string, i)));
      events.push(`push ${reason} ${ids.join(',')} ${found.map((i) => i?.status).join(',')}`);
    },
  };
  return { deployments, instanceDeployments, notifier };
});
const { fleet, getDeployment } = useFleets(api);

/** The events of each batch in order: reserve, then push(es), then close. */
function byBatch(log: string[]): string[][] {
  const batches: string[][] = [];
  for (const line of log) {
    if (line.startsWith('reserve ')) batches.push([]);
    batches.at(-1)?.push(line.replace(/ [0-9a-f]{12}$/, ' <token>'));
  }
  return batches;
}

describe('dispatching a reserved batch', () => {
  it('when a batch is reserved, its agents are pushed to, already dispatched, before the batch is closed', async () => {
    events.length = 0;
    chunkReads = 0;
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'OneAtATime' });
    const { body } = await deploy();
    const ran: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const agent of agents) if (await agent.runBatched()) ran.push(agent.instanceId);
    }
    expect(ran.sort()).toEqual(agents.map((a) => a.instanceId));
    expect((await getDeployment(body.deploymentId)).status).toBe('Succeeded');
    const batches = byBatch(events);
    expect(batches).toHaveLength(3);
    for (const batch of batches) {
      expect(batch).toEqual(['reserve <token>', expect.stringMatching(/^push dispatch app-\d+-host-\d{3} InProgress$/), 'close <token>']);
    }
    expect(chunkReads).toBe(0); // each pass dispatched what it had just reserved, without reading it back
  });

  it('a pass that dies right after reserving leaves the batch open; the next pass dispatches it once, and a replay changes nothing', async () => {
    events.length = 0;
    chunkReads = 0;
    const { agents, deploy } = await fleet(2, { deploymentConfig: 'OneAtATime' });
    failNextDispatch = true;
    const { body } = await deploy();
    const id = body.deploymentId as string;
    const deployment = await getDeployment(id); // the stream retried the record the dead pass failed on
    expect(failNextDispatch).toBe(false);
    expect(chunkReads).toBe(1); // the open batch, read back from its chunk items
    expect(deployment.counts).toMatchObject({ pending: 1, inProgress: 1 });
    expect((await api.deps.deployments.get(id))?.openBatches).toBeUndefined();
    expect(await api.deps.instanceDeployments.reservedChunks(id)).toEqual([]);
    const polled = await Promise.all(agents.map((a) => a.poll()));
    expect(polled.filter((p) => p.body.assignment?.deploymentId === id)).toHaveLength(1);
    const [batch] = byBatch(events);
    expect(batch).toEqual(['reserve <token>', expect.stringMatching(/^push dispatch .* InProgress$/), 'close <token>']);

    // The reconciler (or a replayed record) runs the pass again: nothing is dispatched or pushed twice.
    await advanceDeployment(id, api.deps);
    await api.settle();
    expect(byBatch(events)).toEqual([batch]);
    expect((await getDeployment(id)).counts).toMatchObject({ pending: 1, inProgress: 1 });
  });
});
