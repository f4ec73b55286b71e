import { type Deployment, createdClockOf } from '../domain/deployment.js';
import { inTurn } from '../domain/in-turn.js';
import { expireDue } from '../deployments/reconcile.js';
import { logger } from '../logger.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import { reconcileExecutions } from '../pipelines/reconcile-executions.js';
import { advanceDeployment } from './advance-deployment.js';

/** A Created deployment younger than this is still its worker's (the stream delivers it within seconds). */
const CREATION_GRACE_MS = 2 * 60 * 1000;
/** Time kept back from a pass's deployments for what is under way and the executions that follow. */
const RESERVE_MS = 15 * 1000;
/** Time kept back from its executions for what is under way. */
const EXECUTIONS_RESERVE_MS = 5 * 1000;

export interface ReconcileSummary {
  deployments: number;
  timedOut: number;
  lost: number;
  neverStarted: number;
  executions: number;
  /** Deployments left to the next pass: this one ran out of time. */
  deferred: number;
}

/**
 * The scheduled backstop. Progress is driven by the stream; this finishes what
 * stopped moving: instances past their deadlines, expired leases, work nobody
 * picked up, and any deployment a crashed or given-up worker left half-done
 * (a stop request not yet carried out, a Created deployment, an end not yet
 * handled), then pipeline executions.
 */
export async function reconcileAll(deps: PipelineDeps, options: { timeLeftMs?: () => number } = {}): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { deployments: 0, timedOut: 0, lost: 0, neverStarted: 0, executions: 0, deferred: 0 };
  const now = deps.clock.now().getTime();
  const startCreated = (d: Deployment) => now - Date.parse(createdClockOf(d)) >= CREATION_GRACE_MS;
  const timeLeft = () => options.timeLeftMs?.() ?? Number.POSITIVE_INFINITY;
  const outOfTime = () => timeLeft() < RESERVE_MS;
  const active = await deps.deployments.listActive();
  for (const deployment of inTurn(active, now)) {
    if (outOfTime()) {
      summary.deferred++;
      continue;
    }
    summary.deployments++;
    try {
      if (deployment.status !== 'Created' && deployment.status !== 'Queued') {
        for (const verdict of await expireDue(deployment, deps, outOfTime)) summary[verdict]++;
      }
      await advanceDeployment(deployment.deploymentId, deps, { startCreated });
    } catch (error) {
      logger.error('Could not reconcile a deployment', { deploymentId: deployment.deploymentId, error: error as Error });
    }
  }
  summary.executions = await reconcileExecutions(deps, () => timeLeft() < EXECUTIONS_RESERVE_MS);
  return summary;
}
