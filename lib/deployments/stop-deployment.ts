import type { Deployment } from '../domain/deployment.js';
import { isDeploymentFinished } from '../domain/lifecycle.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { EngineDeps } from './engine.js';
import { finish, rollbackWanted } from './rollout.js';

/**
 * Stops a deployment at once: nothing more is dispatched, instances not yet
 * started end Skipped, and running agents are told to stop on their next
 * poll or report (they kill the running hook). `rollback` defaults to the
 * group's DEPLOYMENT_STOP_ON_REQUEST setting.
 */
export async function stopDeployment(
  deploymentId: string,
  options: { rollback?: boolean | undefined; by: string },
  deps: EngineDeps,
): Promise<Deployment> {
  const deployment = await deps.deployments.get(deploymentId);
  if (!deployment) throw new NotFoundError(`Deployment ${deploymentId} does not exist`);
  if (isDeploymentFinished(deployment.status)) {
    throw new ConflictError(`Deployment ${deploymentId} has already ended (${deployment.status})`);
  }
  const rollback = options.rollback ?? (await rollbackWanted(deployment, 'DEPLOYMENT_STOP_ON_REQUEST', deps));
  const now = deps.clock.now().toISOString();
  if (!(await deps.deployments.requestStop(deploymentId, { at: now, by: options.by, rollback }))) {
    const current = await deps.deployments.get(deploymentId);
    throw new ConflictError(`Deployment ${deploymentId} is already ${current?.stopRequested ? 'stopping' : current?.status}`);
  }
  await finish(
    deployment,
    { status: 'Stopped', error: { code: 'StoppedByRequest', message: `Stopped by ${options.by}` }, rollback },
    deps,
  );
  return (await deps.deployments.get(deploymentId)) as Deployment;
}
