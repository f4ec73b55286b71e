import { type Deployment, stoppedByRequest } from '../domain/deployment.js';
import { logger } from '../logger.js';
import type { EngineDeps } from './engine-deps.js';
import { refreshCatchUp } from './catch-up.js';

/** Queued deployments looked at per pass: those stopped while queued are ended on the way to the first that can start. */
const QUEUE_LOOKAHEAD = 10;

/**
 * Starts the oldest deployment queued for a group, if the group is free: it
 * takes the group's slot, leaves the queue and becomes Created in one
 * transaction (the worker then freezes its targets, as for any new
 * deployment). A queued deployment stopped meanwhile is ended on the way and
 * the next one is tried. Safe to run from any worker, the reconciler, or twice
 * at once: each step is conditional, and the group's slot admits one.
 */
export async function startNextQueued(application: string, group: string, deps: EngineDeps): Promise<string | undefined> {
  const ids = await deps.deployments.queued(application, group, QUEUE_LOOKAHEAD);
  for (const id of ids) {
    const deployment = await deps.deployments.get(id);
    if (!deployment || deployment.status !== 'Queued') continue; // started or ended by another worker since the read
    if (deployment.stopRequested) {
      await endStoppedWhileQueued(deployment, deps);
      continue;
    }
    // A catch-up takes what its group has now: the deployment it waited for may have succeeded with something newer.
    const refreshed = await refreshCatchUp(deployment, deps);
    if (refreshed === 'notNeeded') {
      await endNotNeeded(deployment, deps);
      continue;
    }
    const outcome = await deps.deployments.dequeue(deployment, deps.clock.now().toISOString(), refreshed);
    if (outcome === 'busy') return undefined;
    if (outcome === 'started') {
      logger.info('Queued deployment started', { deploymentId: id, application, group });
      return id;
    }
    // notQueued: a stop landed since the read, or another worker started it; look again.
    const now = await deps.deployments.get(id);
    if (now?.status === 'Queued' && now.stopRequested) await endStoppedWhileQueued(now, deps);
    if (now?.status === 'Created' || now?.status === 'InProgress') return undefined;
  }
  return undefined;
}

/** A queued deployment stopped: it ends Stopped without ever taking its group (nothing to skip, nothing to roll back). */
export async function endStoppedWhileQueued(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const stop = deployment.stopRequested as NonNullable<Deployment['stopRequested']>;
  if (await deps.deployments.endQueued(deployment, { ...stoppedByRequest(stop), now: deps.clock.now().toISOString() })) {
    logger.info('Queued deployment stopped', { deploymentId: deployment.deploymentId });
  }
}

/** A queued catch-up whose instance succeeded in what its group deployed since: it ends Stopped, never taking the group. */
async function endNotNeeded(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const { instanceId } = deployment.catchUp as NonNullable<Deployment['catchUp']>;
  const message = `Not needed: ${instanceId} succeeded in the deployment its group made while this one was queued`;
  if (await deps.deployments.endQueued(deployment, { status: 'Stopped', error: { code: 'CatchUpNotNeeded', message }, now: deps.clock.now().toISOString() })) {
    logger.info('Queued catch-up not needed', { deploymentId: deployment.deploymentId, instanceId });
  }
}
