import type { Deployment } from '../domain/deployment.js';
import { deploymentFailedError } from '../domain/failure-cause.js';
import { decideRollout, unsatisfiableReason } from '../domain/minimum-healthy.js';
import { logger } from '../logger.js';
import { type EngineDeps, plusSeconds } from './engine.js';

export type Step = 'changed' | 'idle';

/** Batches whose dispatch transactions run side by side (each moves the deployment's counters once). */
const DISPATCH_LANES = 4;
const LANE_SIZE = 49;

/**
 * One step of a rolling deployment, from its counters: dispatch as many
 * pending instances as minimum healthy hosts allows, or end it. Safe to run
 * from any stream record, the reconciler, or twice at once: every write is
 * conditional on the state it changes.
 */
export async function advance(deployment: Deployment, deps: EngineDeps): Promise<Step> {
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
  return (await dispatchBatch(deployment, decision.count, deps)) > 0 ? 'changed' : 'idle';
}

/**
 * Dispatches up to `count` pending instances. The instances and the deployment's
 * counters move together, 49 instances per transaction, so a crash between two
 * transactions leaves exact counters and the next step dispatches the rest.
 */
async function dispatchBatch(deployment: Deployment, count: number, deps: EngineDeps): Promise<number> {
  const candidates = await deps.instanceDeployments.pendingCandidates(deployment.deploymentId, count);
  const now = deps.clock.now();
  const options = {
    maxOffline: deployment.fleetSize - deployment.minimumHealthyHosts,
    now: now.toISOString(),
    watchAt: plusSeconds(now, deps.timings.startTimeoutSeconds),
  };
  const lanes: string[][] = [];
  for (let i = 0; i < candidates.length; i += LANE_SIZE) lanes.push(candidates.slice(i, i + LANE_SIZE));
  const dispatched: string[] = [];
  let busy = false;
  let next = 0;
  const lane = async () => {
    while (!busy && next < lanes.length) {
      const result = await deps.instanceDeployments.dispatchMany(deployment.deploymentId, lanes[next++] as string[], options);
      dispatched.push(...result.dispatched);
      if (result.busy) busy = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISPATCH_LANES, lanes.length) }, lane));
  // The assignments are written: a push only saves the agents their wait for the next poll.
  await deps.notifier?.wake(dispatched, 'dispatch');
  if (dispatched.length > 0) logger.info('Instances dispatched', { deploymentId: deployment.deploymentId, dispatched: dispatched.length });
  return dispatched.length;
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
