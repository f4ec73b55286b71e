import type { z } from 'zod';
import { resolveDeploymentConfig } from '../domain/deployment-config.js';
import { type Deployment, type Revision, type createDeploymentBodySchema, newDeploymentId, withBundleType } from '../domain/deployment.js';
import { emptyCounts } from '../domain/minimum-healthy.js';
import { ConflictError, type ErrorDetail, GroupBusyError } from '../errors.js';
import type { BusyBehavior } from '../domain/deployment-group.js';
import { requestFingerprint } from '../domain/idempotency.js';
import { scopedToken } from '../domain/engine-tokens.js';
import { type RevisionScopeException, assertRevisionAllowed } from './revision-scope.js';
import { checkTargetInstances } from './resolve-targets.js';
import { logger } from '../logger.js';
import type { EngineDeps } from './engine-deps.js';
import { notFound } from '../domain/not-found.js';
import type { CatchUp } from '../domain/catch-up.js';

export type CreateDeploymentInput = z.output<typeof createDeploymentBodySchema>;

/** Which object a request names; what the revision check pins (ETag, size, checksum) is not the request's. */
function revisionIdentity({ bucket, key, version, bundleType }: Revision): Partial<Revision> {
  return { bucket, key, version, bundleType };
}

/** Everything a token stands for: the same token with any of these changed is refused. */
/** What a deployment repeats or retries, as the engine's own routes record it. */
interface Lineage {
  redeployOf?: string | undefined;
  retryOf?: string | undefined;
}

function idempotencyFingerprint(input: CreateDeploymentInput & Lineage & { revision: Revision | CreateDeploymentInput['revision'] }): string {
  return requestFingerprint({
    application: input.application,
    group: input.group,
    revision: revisionIdentity(withBundleType(input.revision)),
    deploymentConfig: input.deploymentConfig,
    description: input.description,
    fileExistsBehavior: input.fileExistsBehavior,
    ...(input.redeployOf ? { redeployOf: input.redeployOf } : {}),
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
    ...(input.targetInstances ? { targetInstances: input.targetInstances } : {}),
  });
}

export interface CreatedDeployment {
  deploymentId: string;
  status: Deployment['status'];
  /** False when an idempotency token returned an earlier deployment. */
  created: boolean;
}

function tokenReused(token: string | undefined, deploymentId: string): ConflictError {
  return new ConflictError(
    `Idempotency token "${token}" was already used for deployment ${deploymentId} with different parameters; use a new token for a different request`,
    [{ path: '$.idempotencyToken', message: `already used for ${deploymentId} with different parameters` }],
  );
}

/**
 * A retried request is answered from its idempotency token before any other
 * work (no group lookup, no S3 check): the deployment the same caller used the
 * token for, or a 409 when the token came with other parameters. Undefined for
 * a token new to this caller.
 */
async function replayedDeployment(input: CreateDeploymentInput & Lineage, creator: string, deps: EngineDeps): Promise<CreatedDeployment | undefined> {
  if (!input.idempotencyToken) return undefined;
  const used = await deps.deployments.findByIdempotencyToken(input.application, input.group, scopedToken(input.idempotencyToken, creator));
  if (!used) return undefined;
  if (used.requestFingerprint && used.requestFingerprint !== idempotencyFingerprint(input)) throw tokenReused(input.idempotencyToken, used.deploymentId);
  return existing(used.deploymentId, deps);
}

/**
 * Records the intent to deploy: the deployment (Created) and the group's
 * active-deployment slot, in one conditional transaction. Nothing here grows
 * with the fleet: the worker resolves the targets, writes the instances and
 * dispatches (lib/worker). A used idempotency token answers first, before any
 * other work.
 */
export async function createDeployment(
  input: CreateDeploymentInput & Lineage & {
    revision: Revision | CreateDeploymentInput['revision'];
    rollbackOf?: string;
    pipelineAction?: Deployment['pipelineAction'];
    /** The appspec's warnings, when the revision was checked before (a pipeline's deploy action). */
    warnings?: ErrorDetail[];
    /**
     * While the group is busy: the group's busyBehavior by default; REJECT for a caller that waits
     * its own way (a pipeline), QUEUE for a deployment that must happen (an instance catching up).
     */
    whenBusy?: BusyBehavior;
    /** Takes the group ahead of its queue (a rollback restores the last good revision before anything queued). */
    aheadOfQueue?: boolean;
    /** An instance catching up to the group's last success (lib/deployments/catch-up.ts). */
    catchUp?: CatchUp;
    /** The engine's own way past the reserved build prefix (revision-scope.ts); never a request's. */
    revisionScope?: RevisionScopeException;
  },
  creator: string,
  deps: EngineDeps,
  /** Checks the revision (e.g. in S3) once the cheaper checks passed, and returns it pinned with the appspec's warnings; a throw writes nothing. */
  verifyRevision?: (revision: Revision) => Promise<{ revision: Revision; warnings: ErrorDetail[] }>,
): Promise<CreatedDeployment> {
  const replayed = await replayedDeployment(input, creator, deps);
  if (replayed) return replayed;
  const group = await deps.groups.get(input.application, input.group);
  if (!group) {
    throw notFound.group(input.application, input.group);
  }
  // Before S3 is even asked: the revision is where the application takes revisions from.
  await assertRevisionAllowed(input.application, input.revision, deps, input.revisionScope);
  // An explicit target list lies within the group (bounded: a lookup of the listed instances only).
  if (input.targetInstances) await checkTargetInstances(group, input.targetInstances.instanceIds, deps);
  const checked = verifyRevision ? await verifyRevision(withBundleType(input.revision)) : { revision: withBundleType(input.revision), warnings: input.warnings ?? [] };
  const { revision, warnings } = checked;
  const config = input.deploymentConfig === undefined ? group.deploymentConfig : resolveDeploymentConfig(input.deploymentConfig);
  const deployment: Deployment = {
    deploymentId: newDeploymentId(deps.randomBytes),
    application: group.application,
    group: group.name,
    groupId: group.id,
    revision,
    deploymentConfig: config,
    // Both are known once the worker has resolved the targets.
    minimumHealthyHosts: 0,
    fleetSize: 0,
    status: 'Created',
    counts: emptyCounts(),
    fileExistsBehavior: input.fileExistsBehavior ?? group.fileExistsBehavior,
    ignoreApplicationStopFailures: group.ignoreApplicationStopFailures,
    description: input.description ?? '',
    creator,
    createdAt: deps.clock.now().toISOString(),
    ...(input.rollbackOf ? { rollbackOf: input.rollbackOf } : {}),
    ...(input.redeployOf ? { redeployOf: input.redeployOf } : {}),
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
    ...(input.targetInstances ? { targetInstances: { instanceIds: input.targetInstances.instanceIds } } : {}),
    ...(input.catchUp ? { catchUp: input.catchUp } : {}),
    ...(input.pipelineAction ? { pipelineAction: input.pipelineAction } : {}),
    hookRoleArn: group.hookRoleArn,
    hookRoleSetBy: group.hookRoleSetBy,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  const fingerprint = input.idempotencyToken ? idempotencyFingerprint(input) : undefined;
  const idempotencyToken = input.idempotencyToken ? scopedToken(input.idempotencyToken, creator) : undefined;
  const whenBusy = input.whenBusy ?? group.busyBehavior;
  const result = await deps.deployments.create(deployment, { lockGroup: true, aheadOfQueue: input.aheadOfQueue, idempotencyToken, requestFingerprint: fingerprint }).catch((error: unknown) => {
    if (!(error instanceof GroupBusyError) || whenBusy !== 'QUEUE') throw error;
    // The group is busy: the deployment waits in its queue, and starts when the group frees (lib/deployments/queue.ts).
    return deps.deployments.enqueue({ ...deployment, status: 'Queued', queuedAt: deployment.createdAt }, { idempotencyToken, requestFingerprint: fingerprint });
  });
  if (result.kind === 'existing') {
    if (result.requestFingerprint && result.requestFingerprint !== fingerprint) throw tokenReused(input.idempotencyToken, result.deploymentId);
    return existing(result.deploymentId, deps);
  }
  const { status } = result.deployment;
  logger.info(status === 'Queued' ? 'Deployment queued' : 'Deployment created', { deploymentId: deployment.deploymentId, application: deployment.application, group: deployment.group });
  return { deploymentId: deployment.deploymentId, status, created: true };
}

async function existing(deploymentId: string, deps: EngineDeps): Promise<CreatedDeployment> {
  const deployment = await deps.deployments.get(deploymentId);
  return { deploymentId, status: deployment?.status ?? 'Created', created: false };
}
