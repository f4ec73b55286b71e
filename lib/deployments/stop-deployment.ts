import type { Deployment } from '../domain/deployment.js';
import { isDeploymentFinished } from '../domain/lifecycle.js';
import { ConflictError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';
import { notFound } from '../domain/not-found.js';

/**
 * Records a stop request (one conditional write) and answers. The worker then
 * ends the deployment Stopped, skips every instance that never started and
 * rolls back if asked; running agents are told to stop on their next poll or
 * report (they kill the running hook). `rollback` defaults to the group's
 * DEPLOYMENT_STOP_ON_REQUEST setting.
 */
export async function stopDeployment(
  deploymentId: string,
  options: { rollback?: boolean | undefined; by: string },
  deps: EngineDeps,
): Promise<Deployment> {
  const deployment = await deps.deployments.get(deploymentId);
  if (!deployment) throw notFound.deployment(deploymentId);
  if (isDeploymentFinished(deployment.status)) {
    throw new ConflictError(`Deployment ${deploymentId} has already ended (${deployment.status})`);
  }
  // A queued deployment never ran: there is nothing to roll back.
  const rollback = deployment.status === 'Queued' ? false : (options.rollback ?? (await stopRollbackDefault(deployment, deps)));
  const stop = { at: deps.clock.now().toISOString(), by: options.by, rollback };
  if (!(await deps.deployments.requestStop(deploymentId, stop))) {
    const current = await deps.deployments.get(deploymentId);
    // A retried write whose first attempt took effect is this very request.
    if (current?.stopRequested?.at === stop.at && current.stopRequested.by === stop.by) return current;
    throw new ConflictError(`Deployment ${deploymentId} is already ${current?.stopRequested ? 'stopping' : current?.status}`);
  }
  return { ...deployment, stopRequested: stop };
}

async function stopRollbackDefault(deployment: Deployment, deps: EngineDeps): Promise<boolean> {
  if (deployment.rollbackOf) return false;
  const group = await deps.groups.get(deployment.application, deployment.group);
  return Boolean(group?.autoRollback.enabled && group.autoRollback.events.includes('DEPLOYMENT_STOP_ON_REQUEST'));
}
