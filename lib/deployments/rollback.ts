import { type Deployment, neverStarted } from '../domain/deployment.js';
import { rollbackToken, scopedToken } from '../domain/engine-tokens.js';
import { GroupBusyError } from '../errors.js';
import { logger } from '../logger.js';
import { createDeployment } from './create-deployment.js';
import type { EngineDeps } from './engine-deps.js';

const AUTOMATIC_ROLLBACK = 'fleetline:automatic-rollback';

/** Whether an ended deployment is rolled back: a stop says so itself, a failure asks the group. */
export async function rollbackWanted(deployment: Deployment, deps: EngineDeps): Promise<boolean> {
  if (neverStarted(deployment)) return false; // stopped while queued: nothing ran
  if (deployment.status === 'Stopped') return Boolean(deployment.stopRequested?.rollback);
  if (deployment.status !== 'Failed' || deployment.rollbackOf) return false; // a failed rollback is not rolled back again
  const group = await deps.groups.get(deployment.application, deployment.group);
  return Boolean(group?.autoRollback.enabled && group.autoRollback.events.includes('DEPLOYMENT_FAILURE'));
}

/**
 * A new deployment of the group's last successful revision, linked both ways.
 * Its idempotency token is derived from the original, so a replay finds the
 * same rollback instead of creating a second one, whatever happened since.
 */
export async function rollBack(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const idempotencyToken = rollbackToken(deployment.deploymentId);
  // A replay finds the rollback by its token before anything else: by now the rollback may even have
  // succeeded, and the group's last success be the rollback itself.
  const earlier = await deps.deployments.findByIdempotencyToken(deployment.application, deployment.group, scopedToken(idempotencyToken, AUTOMATIC_ROLLBACK));
  if (earlier) {
    await deps.deployments.linkRollback(deployment.deploymentId, earlier.deploymentId);
    return;
  }
  const last = await deps.deployments.lastSuccessfulRevision(deployment.application, deployment.group);
  if (!last) {
    logger.warn('No successful revision to roll back to', { deploymentId: deployment.deploymentId });
    return;
  }
  try {
    const rollback = await createDeployment(
      {
        application: deployment.application,
        group: deployment.group,
        revision: last.revision,
        description: `Rollback of ${deployment.deploymentId} to ${last.deploymentId}`,
        idempotencyToken,
        rollbackOf: deployment.deploymentId,
        // The last good revision may be a pipeline's build output: it was deployed here, so it may go back.
        revisionScope: { kind: 'lastSuccess' },
        // The last good revision goes back before anything queued for the group starts.
        whenBusy: 'REJECT',
        aheadOfQueue: true,
      },
      AUTOMATIC_ROLLBACK,
      deps,
    );
    await deps.deployments.linkRollback(deployment.deploymentId, rollback.deploymentId);
  } catch (error) {
    if (!(error instanceof GroupBusyError)) throw error;
    logger.warn('Rollback skipped: the group is busy with another deployment', {
      deploymentId: deployment.deploymentId,
      activeDeploymentId: error.activeDeploymentId,
    });
  }
}
