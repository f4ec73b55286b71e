import type { z } from 'zod';
import { resolveDeploymentConfig } from '../domain/deployment-config.js';
import {
  type Deployment,
  type EventRecord,
  type InstanceDeployment,
  type Revision,
  type createDeploymentBodySchema,
  newDeploymentId,
  withBundleType,
} from '../domain/deployment.js';
import { LIFECYCLE_EVENTS, TRAFFIC_EVENTS } from '../domain/lifecycle.js';
import { emptyCounts, minimumHealthyHosts, unsatisfiableReason } from '../domain/minimum-healthy.js';
import { requestFingerprint } from '../domain/idempotency.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors.js';
import { assertRevisionAllowed } from '../artifacts/revision-scope.js';
import { logger } from '../logger.js';
import type { EngineDeps } from './engine.js';
import { resolveTargets } from './resolve-targets.js';
import { advance } from './rollout.js';

export type CreateDeploymentInput = z.output<typeof createDeploymentBodySchema>;

/** Every instance starts with the whole lifecycle: runnable events Pending, traffic events Skipped (no load balancer). */
function initialEvents(): EventRecord[] {
  return [
    ...TRAFFIC_EVENTS.slice(0, 3).map((name) => ({ name, status: 'Skipped' as const })),
    ...LIFECYCLE_EVENTS.map((name) => ({ name, status: 'Pending' as const })),
    ...TRAFFIC_EVENTS.slice(3).map((name) => ({ name, status: 'Skipped' as const })),
  ];
}

/** Which object a request names; what the revision check pins (ETag, size, checksum) is not the request's. */
function revisionIdentity({ bucket, key, version, bundleType }: Revision): Partial<Revision> {
  return { bucket, key, version, bundleType };
}

/** Everything a token stands for: the same token with any of these changed is refused. */
function idempotencyFingerprint(input: CreateDeploymentInput & { revision: Revision | CreateDeploymentInput['revision'] }): string {
  return requestFingerprint({
    application: input.application,
    group: input.group,
    revision: revisionIdentity(withBundleType(input.revision)),
    deploymentConfig: input.deploymentConfig,
    description: input.description,
    fileExistsBehavior: input.fileExistsBehavior,
  });
}

export interface CreatedDeployment {
  deploymentId: string;
  status: Deployment['status'];
  /** False when an idempotency token returned an earlier deployment. */
  created: boolean;
}

/**
 * Resolves and freezes the targets, takes the group's active-deployment slot,
 * writes one item per instance and dispatches the first batch.
 */
export async function createDeployment(
  input: CreateDeploymentInput & {
    revision: Revision | CreateDeploymentInput['revision'];
    rollbackOf?: string;
    pipelineAction?: Deployment['pipelineAction'];
  },
  creator: string,
  deps: EngineDeps,
): Promise<CreatedDeployment> {
  const group = await deps.groups.get(input.application, input.group);
  if (!group) {
    throw new NotFoundError(`Deployment group "${input.group}" does not exist in application "${input.application}"`);
  }
  await assertRevisionAllowed(input.application, input.revision, deps);
  const config = input.deploymentConfig === undefined ? group.deploymentConfig : resolveDeploymentConfig(input.deploymentConfig);
  const targets = await resolveTargets(group, deps);
  const minimum = minimumHealthyHosts(config, targets.length);
  const unsatisfiable = unsatisfiableReason(targets.length, minimum);
  if (unsatisfiable) throw new UnprocessableError(unsatisfiable, [{ path: '$.deploymentConfig', message: unsatisfiable }]);

  const now = deps.clock.now().toISOString();
  const noTargets = targets.length === 0;
  const deployment: Deployment = {
    deploymentId: newDeploymentId(deps.randomBytes),
    application: group.application,
    group: group.name,
    groupId: group.id,
    revision: withBundleType(input.revision),
    deploymentConfig: config,
    minimumHealthyHosts: minimum,
    fleetSize: targets.length,
    status: noTargets ? 'Failed' : 'Created',
    counts: emptyCounts(targets.length),
    fileExistsBehavior: input.fileExistsBehavior ?? group.fileExistsBehavior,
    ignoreApplicationStopFailures: group.ignoreApplicationStopFailures,
    description: input.description ?? '',
    creator,
    createdAt: now,
    ...(noTargets
      ? {
          completedAt: now,
          error: {
            code: 'NoInstances',
            message: 'No running EC2 instance or registered instance matches the deployment group\'s tag sets',
          },
        }
      : {}),
    ...(input.rollbackOf ? { rollbackOf: input.rollbackOf } : {}),
    ...(input.pipelineAction ? { pipelineAction: input.pipelineAction } : {}),
    hookRoleArn: group.hookRoleArn,
  };

  const fingerprint = input.idempotencyToken ? idempotencyFingerprint(input) : undefined;
  const result = await deps.deployments.create(deployment, {
    lockGroup: !noTargets,
    idempotencyToken: input.idempotencyToken,
    requestFingerprint: fingerprint,
  });
  if (result.kind === 'existing') {
    if (result.requestFingerprint && result.requestFingerprint !== fingerprint) {
      throw new ConflictError(
        `Idempotency token "${input.idempotencyToken}" was already used for deployment ${result.deploymentId} with different parameters; use a new token for a different request`,
        [{ path: '$.idempotencyToken', message: `already used for ${result.deploymentId} with different parameters` }],
      );
    }
    const existing = await deps.deployments.get(result.deploymentId);
    return { deploymentId: result.deploymentId, status: existing?.status ?? 'Created', created: false };
  }
  if (noTargets) return { deploymentId: deployment.deploymentId, status: 'Failed', created: true };

  await deps.instanceDeployments.putAll(
    targets.map(
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
  await deps.deployments.startRollout(deployment.deploymentId, deps.clock.now().toISOString());
  const after = await advance(deployment.deploymentId, deps);
  logger.info('Deployment created', { deploymentId: deployment.deploymentId, fleetSize: targets.length, minimum });
  return { deploymentId: deployment.deploymentId, status: after?.status ?? 'InProgress', created: true };
}

/**
 * A deployment left in Created (its writer died between writing the deployment
 * and its instances) is started if every instance item made it, failed otherwise.
 */
export async function resumeCreation(deployment: Deployment, deps: EngineDeps): Promise<void> {
  const written = await deps.instanceDeployments.countAll(deployment.deploymentId);
  const now = deps.clock.now().toISOString();
  if (written === deployment.fleetSize) {
    await deps.deployments.startRollout(deployment.deploymentId, now);
    await advance(deployment.deploymentId, deps);
    return;
  }
  await deps.deployments.finalize(deployment, {
    status: 'Failed',
    now,
    error: {
      code: 'CreationInterrupted',
      message: `Creating the deployment was interrupted after ${written} of ${deployment.fleetSize} instances were recorded`,
    },
  });
}
