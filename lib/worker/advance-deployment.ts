import { type Deployment, stoppedByRequest } from '../domain/deployment.js';
import { decideCreated } from '../domain/freeze-lease.js';
import { rollBack, rollbackWanted } from '../deployments/rollback.js';
import { advanceRollout, dispatchReserved, finish, releaseReserved } from '../deployments/rollout.js';
import { startDeployment } from '../deployments/start-deployment.js';
import { endStoppedWhileQueued, startNextQueued } from '../deployments/queue.js';
import { windDown } from '../deployments/wind-down.js';
import { logger } from '../logger.js';
import { onDeploymentEnded } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';

const MAX_STEPS = 50;

/**
 * Moves one deployment as far as it can go from what is recorded now:
 * Queued → its group's oldest queued deployment started if the group is free (or Stopped, when a stop was asked for);
 * Created → targets frozen (by one worker at a time); a stop request → Stopped; InProgress → the next
 * batch or the end; ended → instances that never started skipped, rollback and
 * pipeline told once, then off the active list. Each step is a conditional
 * write that is a no-op when replayed, so the stream worker, its retries and
 * the reconciler may all run it, at once or after a crash.
 */
export async function advanceDeployment(
  deploymentId: string,
  deps: PipelineDeps,
  options: { startCreated?: (deployment: Deployment) => boolean } = {},
): Promise<Deployment | undefined> {
  for (let step = 0; step < MAX_STEPS; step++) {
    const deployment = await deps.deployments.get(deploymentId);
    if (!deployment) return undefined;
    switch (deployment.status) {
      case 'Queued':
        if (deployment.stopRequested) {
          await endStoppedWhileQueued(deployment, deps);
          continue;
        }
        // Its group may be free (the end that freed it started nobody, or came before it was queued): start the oldest.
        if ((await startNextQueued(deployment.application, deployment.group, deps)) === deploymentId) continue;
        return deps.deployments.get(deploymentId);
      case 'Created':
        switch (decideCreated(deployment, deps.clock.now().toISOString())) {
          case 'wait':
            // Its worker moves it on (a stop included) once its targets are frozen; the reconciler takes over if it dies.
            return deployment;
          case 'stop':
            // Stopped before any worker began freezing its targets: nothing to freeze, nothing to skip.
            await stopNow(deployment, deps);
            continue;
          case 'freeze':
            if (options.startCreated && !options.startCreated(deployment)) return deployment;
            await startDeployment(deployment, deps);
            continue;
        }
        break;
      case 'InProgress':
        if (deployment.stopRequested) {
          await stopNow(deployment, deps);
          continue;
        }
        if (deployment.openBatches?.length) {
          await dispatchReserved(deployment, deps);
          continue;
        }
        if ((await advanceRollout(deployment, deps)) === 'idle') return deployment;
        continue;
      default: {
        if (deployment.openBatches?.length) {
          // Ended before its reserved batch went out: the batch is given back, its instances then skipped.
          await releaseReserved(deployment, deps);
          continue;
        }
        const skipped = await windDown(deployment, deps);
        if (!deployment.endHandled) {
          await afterEnd(deployment, deps);
          await deps.deployments.markEndHandled(deploymentId);
          continue;
        }
        if (skipped > 0) continue;
        await deps.deployments.retire(deploymentId);
        return deployment;
      }
    }
  }
  logger.warn('Deployment still moving after many steps; the next record or reconcile pass continues it', { deploymentId });
  return deps.deployments.get(deploymentId);
}

async function stopNow(deployment: Deployment, deps: PipelineDeps): Promise<void> {
  await finish(deployment, stoppedByRequest(deployment.stopRequested as NonNullable<Deployment['stopRequested']>), deps);
}

/**
 * What follows an end, safe to repeat: the rollback (idempotency token; it goes
 * ahead of the group's queue), the pipeline's next step, then the oldest
 * deployment queued for the group, if the group is free.
 */
async function afterEnd(deployment: Deployment, deps: PipelineDeps): Promise<void> {
  if (await rollbackWanted(deployment, deps)) await rollBack(deployment, deps);
  await onDeploymentEnded(deployment, deps);
  await startNextQueued(deployment.application, deployment.group, deps);
}
