import { rewakeAfterSeconds } from './reconcile.js';
import type { Deployment } from '../domain/deployment.js';
import type { ReservedChunk } from '../ports.js';
import { deploymentFailedError } from '../domain/failure-cause.js';
import { decideRollout, unsatisfiableReason } from '../domain/minimum-healthy.js';
import { logger } from '../logger.js';
import { type EngineDeps, plusSeconds } from './engine-deps.js';

export type Step = 'changed' | 'idle';

/** Chunks of a reserved batch dispatched side by side (each touches only its own instances). */
const DISPATCH_LANES = 8;

/**
 * One step of a rolling deployment, from its counters: reserve as many
 * pending instances as minimum healthy hosts allows and dispatch them, or end
 * it. Safe to run from any stream record, the reconciler, or twice at once:
 * every write is conditional on the state it changes.
 */
export async function advanceRollout(deployment: Deployment, deps: EngineDeps): Promise<Step> {
  const unsatisfiable = unsatisfiableReason(deployment.fleetSize, deployment.minimumHealthyHosts);
  const decision = unsatisfiable
    ? ({ kind: 'fail', reason: unsatisfiable } as const)
    : decideRollout(deployment.fleetSize, deployment.minimumHealthyHosts, deployment.counts);
  if (decision.kind === 'wait') return 'idle';
  if (decision.kind === 'succeed' || decision.kind === 'fail') {
    const failed = decision.kind === 'fail' && !unsatisfiable ? await deps.instanceDeployments.failedInstances(deployment.deploymentId, 25) : [];
    await finish(
      deployment,
      decision.kind === 'succeed' ? { status: 'Succeeded' } : { status: 'Failed', error: deploymentFailedError(decision.reason, failed) },
      deps,
    );
    return 'changed';
  }
  return (await reserveBatch(deployment, decision.count, deps)) ? 'changed' : 'idle';
}

/**
 * Reserves the next batch in one conditional write on the deployment (its
 * counters, its batch number and the batch's token), after writing which
 * instances it holds as chunk items of its own; then dispatches it from the
 * chunks it just wrote, in the same pass. A crash in between leaves the batch
 * open: the next pass, whoever runs it, dispatches it from its chunk items
 * (dispatchReserved), each chunk once whoever races.
 */
async function reserveBatch(deployment: Deployment, count: number, deps: EngineDeps): Promise<boolean> {
  const id = deployment.deploymentId;
  const candidates = await deps.instanceDeployments.pendingCandidates(id, count);
  if (candidates.length === 0) return false;
  const batch = (deployment.batchNumber ?? 0) + 1;
  const token = Buffer.from(deps.randomBytes(6)).toString('hex');
  const proposed = await deps.instanceDeployments.proposeBatch(id, batch, token, candidates);
  const reserved = await deps.deployments.reserveBatch(id, {
    batch,
    token,
    size: candidates.length,
    maxOffline: deployment.fleetSize - deployment.minimumHealthyHosts,
  });
  // Not reserved (another worker took this batch number, or the deployment stopped): the proposal expires unused.
  if (!reserved) return false;
  logger.info('Batch reserved', { deploymentId: id, batch, size: candidates.length });
  await dispatch(id, proposed, [token], deps);
  return true;
}

/**
 * Dispatches what open batches reserved (a pass that reserved a batch and
 * ended before dispatching it), from their chunk items.
 */
export async function dispatchReserved(deployment: Deployment, deps: EngineDeps): Promise<number> {
  const id = deployment.deploymentId;
  const open = deployment.openBatches ?? [];
  const tokens = new Set(open);
  const chunks = (await deps.instanceDeployments.reservedChunks(id)).filter((c) => tokens.has(c.token));
  return dispatch(id, chunks, open, deps);
}

/**
 * Each chunk's instances go Pending → InProgress with their assignments in one
 * transaction that also deletes the chunk, so a chunk is dispatched once
 * whoever races; a reserved instance that was no longer pending gives its slot
 * back in that same transaction. Chunks touch only their own items, so many
 * run side by side. A chunk's agents are pushed to as soon as it is written,
 * and the batches are closed after that: closing is bookkeeping nobody waits on.
 */
async function dispatch(id: string, chunks: ReservedChunk[], tokens: readonly string[], deps: EngineDeps): Promise<number> {
  const now = deps.clock.now();
  // The reconciler looks again once a third of the start timeout has passed: a wake-up may have been lost.
  // No later than the lease an acknowledgement grants would end, so acknowledging never has to move it.
  const firstLook = Math.min(deps.timings.leaseSeconds, rewakeAfterSeconds(deps.timings.startTimeoutSeconds));
  const options = { now: now.toISOString(), watchAt: plusSeconds(now, firstLook) };
  let dispatched = 0;
  const wakes: Promise<void>[] = [];
  await inLanes(chunks, DISPATCH_LANES, async (chunk) => {
    const ids = await deps.instanceDeployments.dispatchChunk(id, chunk, options);
    dispatched += ids.length;
    // The assignments are written: a push only saves the agents their wait for the next poll (it never throws).
    if (ids.length > 0 && deps.notifier) wakes.push(deps.notifier.wake(ids, 'dispatch'));
  });
  await Promise.all(wakes);
  for (const token of tokens) await deps.deployments.closeBatch(id, token);
  if (dispatched > 0) logger.info('Instances dispatched', { deploymentId: id, dispatched });
  return dispatched;
}

/**
 * A deployment that ended with a batch reserved but not dispatched gives the
 * batch back (its instances are then skipped with the others that never started).
 */
export async function releaseReserved(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const id = deployment.deploymentId;
  const open = new Set(deployment.openBatches ?? []);
  const chunks = (await deps.instanceDeployments.reservedChunks(id)).filter((c) => open.has(c.token));
  await inLanes(chunks, DISPATCH_LANES, (chunk) => deps.instanceDeployments.releaseChunk(id, chunk));
  for (const token of open) await deps.deployments.closeBatch(id, token);
}

async function inLanes<T>(items: T[], lanes: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

/** Ends a deployment once, whoever gets there first; the worker then does what follows an end. */
export async function finish(
  deployment: Deployment,
  outcome: { status: 'Succeeded' | 'Failed' | 'Stopped'; error?: { code: string; message: string } },
  deps: EngineDeps,
): Promise<boolean> {
  const ended = await deps.deployments.finalize(deployment, { ...outcome, now: deps.clock.now().toISOString() });
  if (ended) logger.info('Deployment ended', { deploymentId: deployment.deploymentId, status: outcome.status, error: outcome.error });
  return ended;
}
