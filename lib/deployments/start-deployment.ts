import { type Deployment, type InstanceDeployment, initialEvents } from '../domain/deployment.js';
import { FREEZE_LEASE_SECONDS } from '../domain/freeze-lease.js';
import { minimumHealthyHosts } from '../domain/minimum-healthy.js';
import { logger } from '../logger.js';
import { type EngineDeps, plusSeconds } from './engine.js';
import { resolveTargets } from './resolve-targets.js';

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
  const [resolved, frozen] = await Promise.all([resolveTargets(group, deps), deps.instanceDeployments.existingIds(deployment.deploymentId)]);
  const already = new Set(frozen);
  const missing = resolved.filter((t) => !already.has(t.instanceId));
  const fleetSize = frozen.length + missing.length;
  if (fleetSize === 0) {
    await deps.deployments.finalize(deployment, {
      status: 'Failed',
      now,
      error: { code: 'NoInstances', message: "No running EC2 instance or registered instance matches the deployment group's tag sets" },
    });
    return;
  }
  await deps.instanceDeployments.putAll(
    missing.map(
      (t): InstanceDeployment => ({
        deploymentId: deployment.deploymentId,
        instanceId: t.instanceId,
        source: t.source,
        status: 'Pending',
        events: initialEvents(),
        version: 0,
      }),
    ),
  );
  const minimum = minimumHealthyHosts(deployment.deploymentConfig, fleetSize);
  if (await deps.deployments.startRollout(deployment.deploymentId, { fleetSize, minimumHealthyHosts: minimum, now, lease })) {
    logger.info('Deployment targets frozen', { deploymentId: deployment.deploymentId, fleetSize, minimum });
  }
}
