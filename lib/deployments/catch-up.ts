import { CATCH_UP_CREATOR, type CatchUp, catchUpDescription, namesInstance, startsMatching } from '../domain/catch-up.js';
import type { Deployment, Revision } from '../domain/deployment.js';
import type { DeploymentGroup } from '../domain/deployment-group.js';
import { catchUpToken } from '../domain/engine-tokens.js';
import type { Tag } from '../domain/tags.js';
import { GroupBusyError, UnprocessableError } from '../errors.js';
import { logger } from '../logger.js';
import { createDeployment } from './create-deployment.js';
import { resolveTargets } from './resolve-targets.js';
import type { EngineDeps } from './engine-deps.js';

/**
 * Instances catching up (docs/engine.md): an instance that starts matching a
 * deployment group after the group's last successful deployment gets that
 * deployment's revision, alone, in a deployment of its own. The worker calls
 * this when a registered instance's tags change (its stream record) and when an
 * EC2 instance enters `running` (EventBridge). Each step is a read or one
 * conditional write, and the deployment's idempotency token is derived from the
 * instance and the successful deployment, so a replay creates nothing twice.
 */

/** What became of one group's catch-up, for the logs and the tests. */
export type CatchUpOutcome = 'created' | 'queued' | 'existing' | 'neverSucceeded' | 'upToDate' | 'inRunningDeployment' | 'notInGroup';

/** Every deployment group of every application: read once per batch of records, bounded by the groups, never the fleet. */
export async function allGroups(deps: Pick<EngineDeps, 'applications' | 'groups'>): Promise<DeploymentGroup[]> {
  const groups: DeploymentGroup[] = [];
  let appToken: string | undefined;
  do {
    const apps = await deps.applications.list({ limit: 100, nextToken: appToken });
    for (const app of apps.items) {
      let groupToken: string | undefined;
      do {
        const page = await deps.groups.list(app.name, { limit: 100, nextToken: groupToken });
        groups.push(...page.items);
        groupToken = page.nextToken;
      } while (groupToken);
    }
    appToken = apps.nextToken;
  } while (appToken);
  return groups;
}

/** A registered instance's tags went from `before` (nothing: it was just registered) to `after`: each group it starts matching catches it up. */
export async function catchUpRegistered(
  change: { instanceId: string; before: readonly Tag[]; after: readonly Tag[] },
  groups: readonly DeploymentGroup[],
  deps: EngineDeps,
): Promise<CatchUpOutcome[]> {
  const outcomes: CatchUpOutcome[] = [];
  for (const group of groups) {
    if (startsMatching(group, change.before, change.after)) outcomes.push(await catchUpInstance(group, change.instanceId, deps));
  }
  return outcomes;
}

/** An EC2 instance entered `running`: each group whose EC2 tag set it matches (asked of EC2, for this instance only) catches it up. */
export async function catchUpEc2(instanceId: string, groups: readonly DeploymentGroup[], deps: EngineDeps): Promise<CatchUpOutcome[]> {
  const outcomes: CatchUpOutcome[] = [];
  for (const group of groups) {
    if (group.outdatedInstancesStrategy !== 'UPDATE' || group.targets.ec2TagSet.length === 0) continue;
    let members;
    try {
      members = await resolveTargets({ ...group, targets: { ...group.targets, onPremisesTagSet: [] } }, deps, [instanceId]);
    } catch (error) {
      // A group whose EC2 targets cannot be looked up (its target role: a 4xx of ours) is that group's problem, not the instance's.
      if (!(error instanceof UnprocessableError)) throw error;
      logger.warn("Catch-up skipped: the group's EC2 targets cannot be looked up", { instanceId, application: group.application, group: group.name, error });
      continue;
    }
    if (members.some((m) => m.instanceId === instanceId)) outcomes.push(await catchUpInstance(group, instanceId, deps));
  }
  return outcomes;
}

/**
 * Deploys the group's last successful revision to this instance alone, unless the
 * group never succeeded, the instance already succeeded in that deployment, or
 * the group's running deployment deploys to it. While the group is busy the
 * catch-up is queued whatever the group's busyBehavior, and takes the group's
 * last success as it is when it leaves the queue (refreshCatchUp).
 */
export async function catchUpInstance(group: DeploymentGroup, instanceId: string, deps: EngineDeps): Promise<CatchUpOutcome> {
  const where = { instanceId, application: group.application, group: group.name };
  const last = await deps.deployments.lastSuccessfulRevision(group.application, group.name);
  if (!last) return 'neverSucceeded';
  if (await succeededIn(last.deploymentId, instanceId, deps)) return 'upToDate';
  const catchUp: CatchUp = { instanceId, revisionOf: last.deploymentId };
  const input = {
    application: group.application,
    group: group.name,
    revision: last.revision,
    description: catchUpDescription(catchUp),
    idempotencyToken: catchUpToken(last.deploymentId, instanceId),
    targetInstances: { instanceIds: [instanceId] },
    catchUp,
    // The last success may be a pipeline's build output: it was deployed to this group, so its newcomers get it too.
    revisionScope: { kind: 'lastSuccess' as const },
  };
  try {
    try {
      return outcomeOf(await createDeployment({ ...input, whenBusy: 'REJECT' }, CATCH_UP_CREATOR, deps));
    } catch (error) {
      if (!(error instanceof GroupBusyError)) throw error;
      if (error.activeDeploymentId && (await deploysTo(error.activeDeploymentId, instanceId, deps))) return 'inRunningDeployment';
      return outcomeOf(await createDeployment({ ...input, whenBusy: 'QUEUE' }, CATCH_UP_CREATOR, deps));
    }
  } catch (error) {
    // The instance left the group again before the worker came to it (the target check refuses it), or the
    // revision is no longer one the application takes: nothing to catch up to.
    if (!(error instanceof UnprocessableError)) throw error;
    logger.warn('Catch-up skipped', { ...where, error });
    return 'notInGroup';
  }
}

function outcomeOf(created: { created: boolean; status: Deployment['status'] }): CatchUpOutcome {
  if (!created.created) return 'existing';
  return created.status === 'Queued' ? 'queued' : 'created';
}

async function succeededIn(deploymentId: string, instanceId: string, deps: EngineDeps): Promise<boolean> {
  return (await deps.instanceDeployments.get(deploymentId, instanceId))?.status === 'Succeeded';
}

/**
 * Whether the group's running deployment deploys to the instance: it names it, it
 * froze it, or it deploys to the whole group and has not begun resolving its
 * targets (it will find the instance, whose record was written before this was read).
 */
async function deploysTo(deploymentId: string, instanceId: string, deps: EngineDeps): Promise<boolean> {
  const running = await deps.deployments.get(deploymentId);
  if (!running) return false;
  if (running.targetInstances) return namesInstance(running, instanceId);
  if (running.status === 'Created' && !running.freezeLease) return true;
  return (await deps.instanceDeployments.get(deploymentId, instanceId)) !== undefined;
}

/**
 * A queued catch-up about to leave the queue: what the group succeeded with may
 * have moved on while it waited (the deployment it waited for). Undefined: as
 * queued; 'notNeeded': the instance succeeded in the group's new last success;
 * else the newer revision to deploy instead, so that the instance ends with what
 * its group has, never with what it had before.
 */
export async function refreshCatchUp(
  deployment: Deployment,
  deps: EngineDeps,
): Promise<undefined | 'notNeeded' | { revision: Revision; catchUp: CatchUp; description: string }> {
  const { catchUp } = deployment;
  if (!catchUp) return undefined;
  const last = await deps.deployments.lastSuccessfulRevision(deployment.application, deployment.group);
  if (!last || last.deploymentId === catchUp.revisionOf) return undefined;
  if (await succeededIn(last.deploymentId, catchUp.instanceId, deps)) return 'notNeeded';
  const newer = { instanceId: catchUp.instanceId, revisionOf: last.deploymentId };
  return { revision: last.revision, catchUp: newer, description: catchUpDescription(newer) };
}
