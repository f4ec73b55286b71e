import { z } from 'zod';
import { keySegmentProblem } from './artifact-location.js';
import { type DeploymentConfig, deploymentConfigSchema } from './deployment-config.js';
import { isEngineToken } from './engine-tokens.js';
import { type FileExistsBehavior, fileExistsBehaviorSchema } from './file-exists-behavior.js';
import { type DeploymentStatus, type ErrorCode, LIFECYCLE_EVENTS, TRAFFIC_EVENTS } from './lifecycle.js';
import type { InstanceCounts } from './minimum-healthy.js';
import { nameSchema } from './names.js';
import type { DeploymentError } from './failure-cause.js';
import type { FreezeLease } from './freeze-lease.js';
import { schema } from './schema.js';
import type { CatchUp } from './catch-up.js';

export const BUNDLE_TYPES = ['zip', 'tar', 'tgz'] as const;
export type BundleType = (typeof BUNDLE_TYPES)[number];

export interface Revision {
  bucket: string;
  key: string;
  version?: string | undefined;
  eTag?: string | undefined;
  bundleType: BundleType;
  /** Set by the revision check from HeadObject: what agents verify the download against. */
  size?: number | undefined;
  /** Hex SHA-256, when S3 keeps a full-object checksum. */
  sha256?: string | undefined;
}

export const revisionSchema = /* @__PURE__ */ schema(() => z.strictObject({
  bucket: z.string({ error: 'is required' }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  key: z
    .string({ error: 'is required' })
    .min(1, 'must not be empty')
    .max(1024, 'must be at most 1024 characters')
    .superRefine((key, ctx) => {
      const problem = keySegmentProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  version: z.string().min(1).max(1024).optional(),
  eTag: z.string().min(1).max(256).optional(),
  bundleType: z.enum(BUNDLE_TYPES, { error: `must be one of ${BUNDLE_TYPES.join(', ')}` }).optional(),
}));

/** The bundle type named, or the one the key's extension implies (zip by default, as CodeDeploy). */
export function withBundleType(revision: z.output<typeof revisionSchema>): Revision {
  const inferred: BundleType = /\.(tgz|tar\.gz)$/i.test(revision.key) ? 'tgz' : /\.tar$/i.test(revision.key) ? 'tar' : 'zip';
  return { ...revision, bundleType: revision.bundleType ?? inferred };
}

/**
 * At most this many instances in an explicit target list: the list is kept on the
 * deployment item, which every agent poll reads, and EC2 takes 200 values per filter.
 */
export const MAX_TARGET_INSTANCES = 200;

/** `targetInstances`: exactly these instances of the group, none other (each must belong to it: checked on creation). */
export const targetInstancesSchema = /* @__PURE__ */ schema(() => z.strictObject({
  instanceIds: z
    .array(nameSchema, { error: 'must be a list of instance IDs' })
    .min(1, 'must name at least one instance')
    .max(MAX_TARGET_INSTANCES, `must name at most ${MAX_TARGET_INSTANCES} instances (deploy to the whole group for more)`)
    .superRefine((ids, ctx) => {
      const seen = new Set<string>();
      ids.forEach((id, i) => {
        if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i], message: `repeats ${id}` });
        seen.add(id);
      });
    }),
}));

export const createDeploymentBodySchema = /* @__PURE__ */ schema(() => z.strictObject({
  application: nameSchema,
  group: nameSchema,
  revision: revisionSchema,
  deploymentConfig: deploymentConfigSchema.optional(),
  description: z.string().max(1024, 'must be at most 1024 characters').optional(),
  idempotencyToken: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters')
    .refine((token) => !isEngineToken(token), 'is reserved for the deployments Fleetline creates itself (rollbacks, pipeline actions): choose another')
    .optional(),
  fileExistsBehavior: fileExistsBehaviorSchema.optional(),
  targetInstances: targetInstancesSchema.optional(),
}));

/** POST /deployments/{id}/redeploy: the revision and the group are the original's. */
export const redeployBodySchema = /* @__PURE__ */ schema(() => createDeploymentBodySchema.pick({ description: true, idempotencyToken: true }).default({}));

/** POST /deployments/{id}/retry: the original's revision, to the instances it did not deploy to (failedOnly is the only kind there is yet, and must be said). */
export const retryBodySchema = /* @__PURE__ */ schema(() => createDeploymentBodySchema
  .pick({ description: true, idempotencyToken: true })
  .extend({ failedOnly: z.literal(true, { error: 'must be true: a retry deploys only to the instances that failed, were skipped or lost their agent' }) }));

/** The instances a retry deploys to again: those that did not succeed (a lost agent ends Unknown). */
export const RETRIED_INSTANCE_STATUSES = ['Failed', 'Skipped', 'Unknown'] as const;

export interface Deployment {
  deploymentId: string;
  application: string;
  group: string;
  groupId: string;
  revision: Revision;
  deploymentConfig: DeploymentConfig;
  minimumHealthyHosts: number;
  fleetSize: number;
  status: DeploymentStatus;
  counts: InstanceCounts;
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  description: string;
  creator: string;
  createdAt: string;
  startedAt?: string | undefined;
  completedAt?: string | undefined;
  /** Why it failed or stopped; `cause` names the first failed instance, event, script and exit code. */
  error?: DeploymentError | undefined;
  stopRequested?: { at: string; by: string; rollback: boolean } | undefined;
  rollbackOf?: string | undefined;
  /** The deployment whose revision this one deploys again (POST /deployments/{id}/redeploy). */
  redeployOf?: string | undefined;
  /** The deployment whose failed, skipped or lost instances this one deploys to again (POST /deployments/{id}/retry). */
  retryOf?: string | undefined;
  /** Set on a deployment of the group's last successful revision to one instance that started matching the group since (domain/catch-up.ts). */
  catchUp?: CatchUp | undefined;
  /** Exactly the instances deployed to, when the request named them (else the group's targets when it starts). */
  targetInstances?: { instanceIds: string[] } | undefined;
  rolledBackBy?: string | undefined;
  hookRoleArn: string | null;
  /** Who set the group's hookRoleArn (named in the credential audit); absent on deployments older than it. */
  hookRoleSetBy?: string | null | undefined;
  /** What in the revision's appspec CodeDeploy would silently skip or read otherwise than it looks, each with its line. */
  warnings?: { path: string; message: string; line?: number | undefined; column?: number | undefined }[] | undefined;
  /** Set when a pipeline's deploy action created this deployment. */
  pipelineAction?: { executionId: string; stageIndex: number; actionIndex: number } | undefined;
  /** Set once what follows its end (rollback, pipeline notification) has been done. */
  endHandled?: boolean | undefined;
  /** The last batch reserved (1, 2, …), and the tokens of reserved batches not yet dispatched. */
  batchNumber?: number | undefined;
  openBatches?: string[] | undefined;
  /** Set when it was queued for its busy group; `dequeuedAt` once it took the group and became Created. */
  queuedAt?: string | undefined;
  dequeuedAt?: string | undefined;
  /** Held by the worker freezing its targets while Created (domain/freeze-lease.ts). */
  freezeLease?: FreezeLease | undefined;
}

export interface EventRecord {
  name: string;
  status: 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped';
  startedAt?: string | undefined;
  endedAt?: string | undefined;
  exitCode?: number | undefined;
  errorCode?: ErrorCode | undefined;
  message?: string | undefined;
  outputTail?: string | undefined;
  /** When the server stops waiting for this event (sum of its scripts' timeouts). */
  deadline?: string | undefined;
}

export interface InstanceDeployment {
  deploymentId: string;
  instanceId: string;
  /** 'ec2' targets come from DescribeInstances, 'registered' from PUT /instances. */
  source: 'ec2' | 'registered';
  status: 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' | 'Unknown';
  events: EventRecord[];
  dispatchedAt?: string | undefined;
  acknowledgedAt?: string | undefined;
  leaseExpiresAt?: string | undefined;
  endedAt?: string | undefined;
  /** While it runs: when the reconciler looks at it next (never later than it is due; see watch-time.ts). */
  watchAt?: string | undefined;
  /** Bumped by every write, so each write is conditional on the state it read. */
  version: number;
}

/** When it became Created: its clocks (a target lookup's grace, the reconciler's wait) run from there, not from a wait in the queue. */
export function createdClockOf(deployment: Pick<Deployment, 'createdAt' | 'dequeuedAt'>): string {
  return deployment.dequeuedAt ?? deployment.createdAt;
}

/** Queued and stopped before it ever took its group: nothing ran, so nothing follows its end (no rollback). */
export function neverStarted(deployment: Pick<Deployment, 'queuedAt' | 'dequeuedAt'>): boolean {
  return deployment.queuedAt !== undefined && deployment.dequeuedAt === undefined;
}

/** How a deployment ends that a principal asked to stop. */
export function stoppedByRequest({ by }: { by: string }) {
  return { status: 'Stopped' as const, error: { code: 'StoppedByRequest', message: `Stopped by ${by}` } };
}

/** Every instance starts with the whole lifecycle: runnable events Pending, traffic events Skipped (no load balancer). */
export function initialEvents(): EventRecord[] {
  return [
    ...TRAFFIC_EVENTS.slice(0, 3).map((name) => ({ name, status: 'Skipped' as const })),
    ...LIFECYCLE_EVENTS.map((name) => ({ name, status: 'Pending' as const })),
    ...TRAFFIC_EVENTS.slice(3).map((name) => ({ name, status: 'Skipped' as const })),
  ];
}


const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** CodeDeploy's deployment ID format: `d-` and 9 uppercase alphanumerics. */
export function newDeploymentId(randomBytes: (n: number) => Uint8Array): string {
  // 252 is the largest multiple of 36 below 256: rejecting above it keeps every character equally likely.
  let id = 'd-';
  while (id.length < 11) {
    for (const byte of randomBytes(16)) {
      if (byte < 252 && id.length < 11) id += ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

export const DEPLOYMENT_ID_PATTERN = /^d-[A-Z0-9]{9}$/;
