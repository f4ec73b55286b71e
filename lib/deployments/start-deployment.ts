import type { DeploymentGroup } from '../domain/deployment-group.js';
import { type Deployment, createdClockOf, type InstanceDeployment, initialEvents, stoppedByRequest } from '../domain/deployment.js';
import { FREEZE_LEASE_SECONDS, afterResolutionFailure } from '../domain/freeze-lease.js';
import { minimumHealthyHosts } from '../domain/minimum-healthy.js';
import { FleetlineError } from '../errors.js';
import { logger } from '../logger.js';
import { type EngineDeps, plusSeconds } from './engine-deps.js';
import { type Target, resolveTargets } from './resolve-targets.js';
import { finish } from './rollout.js';

/**
 * Created → InProgress: under the freeze lease, resolves the group's targets
 * and freezes them as one item per instance, then records the fleet size on
 * the deployment (which the dispatcher waits for). Returns without writing
 * when another worker holds the lease. Replaying it is safe: nothing is
 * dispatched before the deployment leaves Created, and instances an
 * interrupted attempt already froze stay targets.
 */
export async function startDeployment(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const id = deployment.deploymentId;
  const clock = deps.clock.now();
  const now = clock.toISOString();
  const lease = { token: Buffer.from(deps.randomBytes(6)).toString('hex'), until: plusSeconds(clock, FREEZE_LEASE_SECONDS) };
  if (!(await deps.deployments.claimFreeze(id, lease, now))) return;
  // On a failure the lease is left to run out: a write of its own would be a stream record, and one
  // attempt after another for as long as the failure lasts. The reconciler takes over once it has.
  await freeze(deployment, lease.token, now, deps);
}

async function freeze(deployment: Deployment, lease: string, now: string, deps: EngineDeps): Promise<void> {
  const group = await deps.groups.get(deployment.application, deployment.group);
  if (!group) {
    await deps.deployments.finalize(deployment, {
      status: 'Failed',
      now,
      error: { code: 'GroupMissing', message: `Deployment group "${deployment.group}" no longer exists` },
    });
    return;
  }
  const [resolution, frozen] = await Promise.all([
    // A stop needs only what an earlier attempt froze (to count it skipped): no EC2 or STS call may hold it up.
    deployment.stopRequested ? { targets: [] } : targetsOf(deployment, group, deps).then((targets) => ({ targets }), (error: unknown) => ({ error })),
    deps.instanceDeployments.existingIds(deployment.deploymentId),
  ]);
  if ('error' in resolution) {
    await unresolved(deployment, resolution.error, frozen, lease, now, deps);
    return;
  }
  const already = new Set(frozen);
  const missing = resolution.targets.filter((t: Target) => !already.has(t.instanceId));
  const fleetSize = frozen.length + missing.length;
  if (fleetSize === 0) {
    await finish(
      deployment,
      deployment.stopRequested
        ? stoppedByRequest(deployment.stopRequested)
        : { status: 'Failed', error: { code: 'NoInstances', message: "No running EC2 instance or registered instance matches the deployment group's tag sets" } },
      deps,
    );
    return;
  }
  await deps.instanceDeployments.putAll(missing.map((t) => pendingItem(deployment.deploymentId, t)));
  const minimum = minimumHealthyHosts(deployment.deploymentConfig, fleetSize);
  if (await deps.deployments.startRollout(deployment.deploymentId, { fleetSize, minimumHealthyHosts: minimum, now, lease })) {
    logger.info('Deployment targets frozen', { deploymentId: deployment.deploymentId, fleetSize, minimum });
  }
}

/**
 * The targets could not be resolved. A cause that lasts, or a passing one that
 * has lasted too long, fails the deployment, naming it; otherwise the error
 * goes up and the next worker tries again once the lease has run out.
 */
async function unresolved(deployment: Deployment, error: unknown, frozen: string[], lease: string, now: string, deps: EngineDeps): Promise<void> {
  const lasting = error instanceof FleetlineError && error.statusCode < 500 && error.statusCode !== 429;
  if (afterResolutionFailure(createdClockOf(deployment), now, lasting) === 'retry') throw error;
  const cause = error instanceof FleetlineError ? error.message : 'an internal error (the worker log has it, under this deployment ID)';
  const outcome = { status: 'Failed' as const, error: { code: 'TargetResolutionFailed', message: `The deployment group's targets could not be resolved: ${cause}` } };
  logger.warn('Deployment failed: targets could not be resolved', { deploymentId: deployment.deploymentId, error: error as Error });
  // Items an earlier attempt froze become the fleet first, so that they are counted when they are skipped.
  if (frozen.length > 0) {
    const fleetSize = frozen.length;
    const started = await deps.deployments.startRollout(deployment.deploymentId, { fleetSize, minimumHealthyHosts: minimumHealthyHosts(deployment.deploymentConfig, fleetSize), now, lease });
    if (!started) return;
  }
  await finish(deployment, outcome, deps);
}

/**
 * The group's targets now, or exactly the instances the request named (checked
 * against the group when it was created): no lookup beyond which of them are registered.
 */
async function targetsOf(deployment: Deployment, group: DeploymentGroup, deps: EngineDeps): Promise<Target[]> {
  const named = deployment.targetInstances?.instanceIds;
  if (!named) return resolveTargets(group, deps);
  const registered = new Set((await deps.instances.getMany(named)).map((i) => i.instanceId));
  return named.map((instanceId) => ({ instanceId, source: registered.has(instanceId) ? 'registered' : 'ec2' }));
}

function pendingItem(deploymentId: string, target: Target): InstanceDeployment {
  return { deploymentId, instanceId: target.instanceId, source: target.source, status: 'Pending', events: initialEvents(), version: 0 };
}
