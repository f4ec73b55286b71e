import { skipRemaining } from '../domain/agent-report.js';
import type { Deployment } from '../domain/deployment.js';
import { deploymentFailedError } from '../domain/failure-cause.js';
import { decideRollout } from '../domain/minimum-healthy.js';
import { ConflictError } from '../errors.js';
import { logger } from '../logger.js';
import { createDeployment } from './create-deployment.js';
import { type EngineDeps, plusSeconds } from './engine.js';

/**
 * Moves a deployment forward from its current counts: dispatches as many
 * pending instances as minimum healthy hosts allows, or ends it. Safe to call
 * from any report, the reconciler, or twice at once: every step is conditional.
 */
export async function advance(deploymentId: string, deps: EngineDeps): Promise<Deployment | undefined> {
  for (let round = 0; round < 10; round++) {
    const deployment = await deps.deployments.get(deploymentId);
    if (!deployment || deployment.status !== 'InProgress' || deployment.stopRequested) return deployment;
    const decision = decideRollout(deployment.fleetSize, deployment.minimumHealthyHosts, deployment.counts);
    if (decision.kind === 'wait') return deployment;
    if (decision.kind === 'succeed' || decision.kind === 'fail') {
      await finish(deployment, decision.kind === 'succeed' ? { status: 'Succeeded' } : {
        status: 'Failed',
        error: deploymentFailedError(decision.reason, await deps.instanceDeployments.failedInstances(deploymentId, 25)),
      }, deps);
      return deps.deployments.get(deploymentId);
    }
    const dispatched = await dispatchBatch(deployment, decision.count, deps);
    if (dispatched === 0) return deployment; // the index has not caught up yet, or another caller took the room
  }
  return deps.deployments.get(deploymentId);
}

// Each dispatch also moves the deployment's counters, so more workers mostly buy transaction conflicts on that item.
const DISPATCH_CONCURRENCY = 4;

async function dispatchBatch(deployment: Deployment, count: number, deps: EngineDeps): Promise<number> {
  const candidates = await deps.instanceDeployments.pendingCandidates(deployment.deploymentId, count + 10);
  const now = deps.clock.now();
  const watchAt = plusSeconds(now, deps.timings.startTimeoutSeconds);
  const maxOffline = deployment.fleetSize - deployment.minimumHealthyHosts;
  let dispatched = 0;
  let busy = false;
  let next = 0;
  // A few dispatches at a time: each is one small transaction, and a wide first batch should not wait in line.
  const worker = async () => {
    while (!busy && dispatched < count && next < candidates.length) {
      const instanceId = candidates[next++] as string;
      const result = await deps.instanceDeployments.dispatch(deployment.deploymentId, instanceId, maxOffline, now.toISOString(), watchAt);
      if (result === 'busy') busy = true;
      if (result === 'dispatched') dispatched++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISPATCH_CONCURRENCY, count) }, worker));
  return dispatched;
}

/**
 * Ends a deployment once (whoever gets there first), then marks the instances
 * that never started Skipped and rolls back when the group asks for it.
 */
export async function finish(
  deployment: Deployment,
  outcome: { status: 'Succeeded' | 'Failed' | 'Stopped'; error?: { code: string; message: string }; rollback?: boolean },
  deps: EngineDeps,
): Promise<boolean> {
  const ended = await deps.deployments.finalize(deployment, { ...outcome, now: deps.clock.now().toISOString() });
  if (!ended) return false;
  logger.info('Deployment ended', { deploymentId: deployment.deploymentId, status: outcome.status, error: outcome.error });
  if (outcome.status !== 'Succeeded') await skipPending(deployment.deploymentId, deps);
  if (outcome.rollback ?? (outcome.status === 'Failed' && (await rollbackWanted(deployment, 'DEPLOYMENT_FAILURE', deps)))) {
    await rollBack(deployment, deps);
  }
  await deps.onDeploymentEnded?.({ ...deployment, status: outcome.status, error: outcome.error });
  return true;
}

export async function rollbackWanted(
  deployment: Deployment,
  event: 'DEPLOYMENT_FAILURE' | 'DEPLOYMENT_STOP_ON_REQUEST',
  deps: EngineDeps,
): Promise<boolean> {
  if (deployment.rollbackOf) return false; // a failed rollback is not rolled back again
  const group = await deps.groups.get(deployment.application, deployment.group);
  return Boolean(group?.autoRollback.enabled && group.autoRollback.events.includes(event));
}

/** Instances that were never dispatched end Skipped, counted exactly once. */
export async function skipPending(deploymentId: string, deps: EngineDeps): Promise<void> {
  for (;;) {
    const ids = await deps.instanceDeployments.pendingCandidates(deploymentId, 100);
    if (ids.length === 0) return;
    let changed = 0;
    for (const instanceId of ids) {
      const instance = await deps.instanceDeployments.get(deploymentId, instanceId);
      if (instance?.status !== 'Pending') continue;
      try {
        await deps.instanceDeployments.update(instance, {
          events: skipRemaining(instance.events),
          transition: 'Skipped',
          now: deps.clock.now().toISOString(),
        });
        changed++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    if (changed === 0) return; // only stale index entries are left
  }
}

/** A new deployment of the group's last successful revision, linked both ways. */
async function rollBack(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const last = await deps.deployments.lastSuccessfulRevision(deployment.application, deployment.group);
  if (!last) {
    logger.warn('No successful revision to roll back to', { deploymentId: deployment.deploymentId });
    return;
  }
  const rollback = await createDeployment(
    {
      application: deployment.application,
      group: deployment.group,
      revision: last.revision,
      description: `Rollback of ${deployment.deploymentId} to ${last.deploymentId}`,
      idempotencyToken: `rollback-of-${deployment.deploymentId}`,
      rollbackOf: deployment.deploymentId,
    },
    'fleetline:automatic-rollback',
    deps,
  );
  await deps.deployments.linkRollback(deployment.deploymentId, rollback.deploymentId);
}
