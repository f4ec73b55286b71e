import type { Deployment } from './deployment.js';
import type { DeploymentGroup } from './deployment-group.js';
import { isEc2InstanceId } from './identity.js';
import { type Tag, matchesTagSet } from './tags.js';

/**
 * An instance catching up: one that starts matching a deployment group after the
 * group's last successful deployment is given that deployment's revision, alone
 * (CodeDeploy's outdated instances, docs/engine.md). These are the rules; the
 * use case is lib/deployments/catch-up.ts.
 */

/** Who creates catch-up deployments (a deployment's creator; CodeDeploy names its own "autoscaling"). */
export const CATCH_UP_CREATOR = 'fleetline:catch-up';

/** What a catch-up deployment records: the instance it is for, and the successful deployment whose revision it deploys. */
export interface CatchUp {
  instanceId: string;
  revisionOf: string;
}

/** Whether a registered instance whose tags went from `before` (none: just registered) to `after` starts matching the group now. */
export function startsMatching(group: Pick<DeploymentGroup, 'targets' | 'outdatedInstancesStrategy'>, before: readonly Tag[], after: readonly Tag[]): boolean {
  const { onPremisesTagSet } = group.targets;
  return group.outdatedInstancesStrategy === 'UPDATE' && matchesTagSet(onPremisesTagSet, after) && !matchesTagSet(onPremisesTagSet, before);
}

/** Whether two tag lists say the same (in any order). */
export function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  const text = (tags: readonly Tag[]) => JSON.stringify(tags.map((t) => [t.key, t.value]).sort());
  return text(a) === text(b);
}

export function catchUpDescription({ instanceId, revisionOf }: CatchUp): string {
  return `Catch-up of instance ${instanceId} to the revision of ${revisionOf}, its group's last successful deployment (the instance started matching the group after it)`;
}

/** Whether the instance is one of the deployment's explicit targets. */
export const namesInstance = (deployment: Pick<Deployment, 'targetInstances'>, instanceId: string) =>
  deployment.targetInstances?.instanceIds.includes(instanceId) ?? false;

/**
 * The instance an EventBridge "EC2 Instance State-change Notification" says entered
 * `running`, when the event is one (anything else, or a malformed ID: undefined).
 */
export function runningEc2InstanceOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { source, 'detail-type': detailType, detail } = event as { source?: unknown; 'detail-type'?: unknown; detail?: { 'instance-id'?: unknown; state?: unknown } };
  if (source !== 'aws.ec2' || detailType !== 'EC2 Instance State-change Notification' || detail?.state !== 'running') return undefined;
  const instanceId = detail['instance-id'];
  return typeof instanceId === 'string' && isEc2InstanceId(instanceId) ? instanceId : undefined;
}
