import type { DeploymentGroup } from '../domain/deployment-group.js';
import { matchesTagSet } from '../domain/tags.js';
import { roleOutOfScope } from '../domain/role-arn.js';
import { UnprocessableError } from '../errors.js';
import type { Ec2TargetLookup, InstancesRepository } from '../ports.js';
import { type EngineDeps, roleScopeOf } from './engine-deps.js';

export interface Target {
  instanceId: string;
  source: 'ec2' | 'registered';
}

/**
 * The group's instances at this moment: running EC2 instances matching the EC2
 * tag set (in the group's region/account when set) and registered instances
 * matching the on-premises tag set. An instance matched both ways counts once.
 * The target role passes the rule every assumed role passes before STS is asked.
 */
export async function resolveTargets(
  group: DeploymentGroup,
  deps: { ec2: Ec2TargetLookup; instances: InstancesRepository } & Pick<EngineDeps, 'partition' | 'credentialAccounts' | 'assumableRolePath'>,
  /** Only these instances are looked up (an explicit target list, bounded): the answer is those of them in the group. */
  among?: readonly string[],
): Promise<Target[]> {
  const { ec2TagSet, onPremisesTagSet, region, targetRoleArn } = group.targets;
  const outside = targetRoleArn && ec2TagSet.length > 0 ? roleOutOfScope(targetRoleArn, roleScopeOf(deps)) : undefined;
  if (outside) throw new UnprocessableError(`targetRoleArn of group ${group.application}/${group.name}: ${outside}`);
  const [ec2Ids, registered] = await Promise.all([
    ec2TagSet.length > 0 ? deps.ec2.findInstanceIds({ tagSet: ec2TagSet, region, roleArn: targetRoleArn, instanceIds: among }) : [],
    onPremisesTagSet.length === 0 ? [] : among ? deps.instances.getMany(among) : deps.instances.listAll(),
  ]);
  const targets = new Map<string, Target>();
  for (const instanceId of ec2Ids) targets.set(instanceId, { instanceId, source: 'ec2' });
  for (const instance of registered) {
    if (!targets.has(instance.instanceId) && matchesTagSet(onPremisesTagSet, instance.tags)) {
      targets.set(instance.instanceId, { instanceId: instance.instanceId, source: 'registered' });
    }
  }
  return [...targets.values()].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

/**
 * An explicit target list must lie within the group: 422 naming each instance
 * that is not one of its targets now (a running EC2 instance matching its EC2
 * tag set, or a registered instance matching its on-premises tag set).
 */
export async function checkTargetInstances(
  group: DeploymentGroup,
  instanceIds: readonly string[],
  deps: Parameters<typeof resolveTargets>[1],
): Promise<void> {
  const members = new Set((await resolveTargets(group, deps, instanceIds)).map((t) => t.instanceId));
  const outside = instanceIds.flatMap((id, i) => (members.has(id) ? [] : [{ id, i }]));
  if (outside.length === 0) return;
  throw new UnprocessableError(
    `Not in deployment group ${group.application}/${group.name}: ${outside.map((o) => o.id).join(', ')} (each target instance must be a running EC2 instance matching the group's ec2TagSet or a registered instance matching its onPremisesTagSet)`,
    outside.map(({ id, i }) => ({ path: `$.targetInstances.instanceIds[${i}]`, message: `${id} is not an instance of deployment group ${group.name}` })),
  );
}
