import type { AccessRule } from './domain/access.js';
import type { WakeReason } from './domain/agent-channel.js';
import type { LiveChunk } from './domain/live-log.js';
import type { LiveConnection, PresenceRecord } from './domain/agent-presence.js';
import type { Application } from './domain/application.js';
import type { BuildSeen, BuildVariable } from './domain/build.js';
import type { RevisionSource } from './domain/artifact-location.js';
import type { IssuedCredentials } from './domain/credentials.js';
import type { DeploymentGroup, StoredGroupSettings } from './domain/deployment-group.js';
import type { InstanceChanges, RegisteredInstance } from './domain/instance.js';
import type { Deployment, EventRecord, InstanceDeployment, Revision } from './domain/deployment.js';
import type { ScopedToken } from './domain/engine-tokens.js';
import type { FreezeLease } from './domain/freeze-lease.js';
import type { DeploymentStatus } from './domain/lifecycle.js';
import type { Execution, Pipeline } from './domain/pipeline.js';
import type { Tag, TagSet } from './domain/tags.js';
import type { DetailType, FleetEvent } from './domain/state-events.js';
import type { TriggerNotification } from './domain/triggers.js';
import type { DynamoDBRecord } from 'aws-lambda';

/** Interfaces the use cases depend on; lib/adapters implements them. */

export interface PageRequest<T = unknown> {
  limit: number;
  nextToken?: string | undefined;
  /**
   * Which items the caller may see (a Deny hides the others): a page holds only
   * those, and its next token names only one of them (docs/data-model.md, Pagination).
   */
  visible?: ((item: T) => boolean) | undefined;
}

export interface Page<T> {
  items: T[];
  nextToken?: string | undefined;
}

export interface Upserted<T> {
  created: boolean;
  value: T;
}

export interface ApplicationsRepository {
  put(name: string, settings: { description: string; revisionSources: RevisionSource[] }, now: string): Promise<Upserted<Application>>;
  get(name: string): Promise<Application | undefined>;
  list(page: PageRequest<Application>): Promise<Page<Application>>;
  /** ConflictError while the application still has deployment groups. */
  delete(name: string): Promise<void>;
}

export interface DeploymentGroupsRepository {
  /** NotFoundError when the application does not exist. */
  put(
    application: string,
    name: string,
    settings: StoredGroupSettings,
    now: string,
    newId: () => string,
  ): Promise<Upserted<DeploymentGroup>>;
  get(application: string, name: string): Promise<DeploymentGroup | undefined>;
  list(application: string, page: PageRequest<DeploymentGroup>): Promise<Page<DeploymentGroup>>;
  delete(application: string, name: string): Promise<void>;
}

export interface InstancesRepository {
  /** Creates or updates; a field `changes` leaves undefined keeps its value (a new instance: no tags, no binding). */
  put(instanceId: string, changes: InstanceChanges, now: string): Promise<Upserted<RegisteredInstance>>;
  /** Creates an instance an agent registered (no targeting tags, bound to the agent) unless it exists; never changes one. */
  registerNew(instanceId: string, iamArn: string, requestedTags: Tag[], now: string): Promise<Upserted<RegisteredInstance>>;
  get(instanceId: string): Promise<RegisteredInstance | undefined>;
  /** Those of these instances that are registered (BatchGetItem), in no particular order. */
  getMany(instanceIds: readonly string[]): Promise<RegisteredInstance[]>;
  list(page: PageRequest<RegisteredInstance>): Promise<Page<RegisteredInstance>>;
  /** Every registered instance (target resolution). */
  listAll(): Promise<RegisteredInstance[]>;
  delete(instanceId: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface DeploymentFilter {
  application?: string | undefined;
  group?: string | undefined;
  status?: DeploymentStatus | undefined;
}

export type CreateResult =
  | { kind: 'created'; deployment: Deployment }
  /** `requestFingerprint`: what the token was first used for (absent on tokens written before fingerprints). */
  | { kind: 'existing'; deploymentId: string; requestFingerprint?: string | undefined };

/** What a queued catch-up deploys instead when its group succeeded with something newer while it waited (set as it leaves the queue). */
export type QueuedChanges = Pick<Deployment, 'revision' | 'catchUp' | 'description'>;

export interface DeploymentsRepository {
  /**
   * Writes a new deployment. With `lockGroup`, atomically takes the group's
   * single active-deployment slot (ConflictError naming the active one when taken,
   * NotFoundError when the group is gone). An idempotency token already used
   * returns the deployment it created instead, with the fingerprint of the request that created it.
   */
  create(
    deployment: Deployment,
    options: { lockGroup: boolean; aheadOfQueue?: boolean | undefined; idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined },
  ): Promise<CreateResult>;
  /** Writes a new deployment Queued for its group (the group's queue length and a queue entry in the same transaction). */
  enqueue(deployment: Deployment, options: { idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined }): Promise<CreateResult>;
  /** The IDs of the group's queued deployments, oldest first (consistent read). */
  queued(application: string, group: string, limit: number): Promise<string[]>;
  /** Queued → Created with the group's slot taken and its queue entry gone, in one transaction: 'busy' when the slot is taken, 'notQueued' when it is no longer queued or a stop was asked for. */
  dequeue(deployment: Deployment, now: string, changes?: QueuedChanges): Promise<'started' | 'busy' | 'notQueued'>;
  /** Ends a deployment that is still queued (it leaves the queue, never takes the group); false when it was no longer queued. */
  endQueued(deployment: Deployment, outcome: { status: 'Stopped'; error: { code: string; message: string }; now: string }): Promise<boolean>;
  get(deploymentId: string): Promise<Deployment | undefined>;
  list(filter: DeploymentFilter, page: PageRequest<Deployment>): Promise<Page<Deployment>>;
  /** The deployment a token was used for by its owner, and the fingerprint of the request that used it. */
  findByIdempotencyToken(application: string, group: string, token: ScopedToken): Promise<{ deploymentId: string; requestFingerprint?: string | undefined } | undefined>;
  /**
   * Takes the lease to freeze a Created deployment's targets: when nobody
   * holds it and no stop was asked for, or when its holder's lease has run out.
   */
  claimFreeze(deploymentId: string, lease: FreezeLease, now: string): Promise<boolean>;
  /** Created → InProgress with the frozen fleet, by the lease's holder; false when it was not Created or not held by `lease`. */
  startRollout(deploymentId: string, fleet: { fleetSize: number; minimumHealthyHosts: number; now: string; lease: string }): Promise<boolean>;
  /** Records a stop request once; false when the deployment had already finished or was stopping. */
  requestStop(deploymentId: string, stop: NonNullable<Deployment['stopRequested']>): Promise<boolean>;
  /**
   * Ends an unfinished deployment and frees its group; on success the group
   * remembers the revision for rollbacks. False when it had already ended.
   */
  finalize(
    deployment: Deployment,
    outcome: { status: 'Succeeded' | 'Failed' | 'Stopped'; error?: { code: string; message: string } | undefined; now: string },
  ): Promise<boolean>;
  /** Records that what follows the end was done; false when it already was. */
  /**
   * Reserves batch `batch` (the next one) in one conditional write: its instances move
   * from pending to in progress in the counters and `token` opens, only while the
   * deployment rolls out and at most fleet − minimum hosts end up offline. False otherwise.
   */
  reserveBatch(deploymentId: string, reservation: { batch: number; token: string; size: number; maxOffline: number }): Promise<boolean>;
  /** Closes a batch whose chunks are all dispatched or given back (idempotent). */
  closeBatch(deploymentId: string, token: string): Promise<void>;
  /** An ended deployment's pending instances all counted skipped, in one write (their items follow: skipCountedPending). False when none was pending. */
  countPendingAsSkipped(deploymentId: string): Promise<boolean>;
  markEndHandled(deploymentId: string): Promise<boolean>;
  /** Leaves the active list once ended, handled and without unfinished instances; false while not yet. */
  retire(deploymentId: string): Promise<boolean>;
  linkRollback(originalId: string, rollbackId: string): Promise<void>;
  listActive(): Promise<Deployment[]>;
  lastSuccessfulRevision(application: string, group: string): Promise<{ deploymentId: string; revision: Revision } | undefined>;
}

export type InstanceTransition = 'Succeeded' | 'Failed' | 'Unknown' | 'Skipped';

/** One chunk of a proposed or reserved batch. */
export interface ReservedChunk {
  /** Its sort key (chunks are deleted by key). */
  key: string;
  token: string;
  instanceIds: string[];
}

export interface InstanceDeploymentsRepository {
  /** Writes the frozen target list (BatchWriteItem, unprocessed items retried with backoff). */
  putAll(items: InstanceDeployment[]): Promise<void>;
  get(deploymentId: string, instanceId: string): Promise<InstanceDeployment | undefined>;
  list(deploymentId: string, page: PageRequest): Promise<Page<InstanceDeployment>>;
  /** Pending instances, possibly stale (index reads are eventually consistent). */
  pendingCandidates(deploymentId: string, limit: number): Promise<string[]>;
  /** The instances already frozen for this deployment (a creation that was interrupted). */
  existingIds(deploymentId: string): Promise<string[]>;
  /** Dispatched, unfinished instances, possibly stale (index reads are eventually consistent). */
  runningIds(deploymentId: string): Promise<string[]>;
  /** Writes a proposed batch as chunk items (49 instance IDs each) under `token`, and returns them; it counts only once the deployment reserves it. */
  proposeBatch(deploymentId: string, batch: number, token: string, instanceIds: string[]): Promise<ReservedChunk[]>;
  /** The chunk items of the deployment's batches not yet dispatched or given back (proposals included). */
  reservedChunks(deploymentId: string): Promise<ReservedChunk[]>;
  /**
   * Pending → InProgress with assignments for one chunk of a reserved batch, and
   * the chunk deleted, in one transaction; an instance no longer pending gives its
   * slot back there. [] when the chunk was dispatched (or given back) already.
   */
  dispatchChunk(deploymentId: string, chunk: ReservedChunk, options: { now: string; watchAt: string }): Promise<string[]>;
  /** Deletes a chunk of a reserved batch and gives its slots back (the deployment ended before dispatching it). */
  releaseChunk(deploymentId: string, chunk: ReservedChunk): Promise<void>;
  /**
   * Pending → Skipped for every instance still pending in an ended deployment
   * whose counters already count them skipped (each item rewritten whole, many per
   * request: nothing else writes them any more); returns how many it rewrote.
   */
  skipCountedPending(deploymentId: string, now: string): Promise<number>;
  /** Ends instances dispatched but never acknowledged as Skipped, assignment withdrawn, many per transaction with the counters. */
  skipUnacknowledged(deploymentId: string, instanceIds: string[], now: string): Promise<string[]>;
  /** The assignment waiting for this instance, if any. */
  findAssignment(instanceId: string): Promise<{ deploymentId: string } | undefined>;
  /**
   * Writes new event records conditionally on `expectedVersion`; a terminal
   * `transition` also moves the deployment's counters in the same transaction.
   * ConflictError when the item changed since it was read.
   */
  update(
    instance: InstanceDeployment,
    changes: { events: EventRecord[]; transition?: InstanceTransition | undefined; now: string; leaseExpiresAt?: string; watchAt?: string; acknowledgedAt?: string },
  ): Promise<InstanceDeployment>;
  /** Keeps an event's output tail in an item of its own (instance items stay small: every report rewrites them). */
  saveOutput(deploymentId: string, instanceId: string, event: string, outputTail: string): Promise<void>;
  /** Output tails by event name. */
  outputs(deploymentId: string, instanceId: string): Promise<Record<string, string>>;
  /** Up to `limit` instances that ended with one of `statuses` (Failed or Unknown: read once, when a deployment fails). */
  failedInstances(deploymentId: string, limit: number, statuses?: readonly InstanceDeployment['status'][]): Promise<InstanceDeployment[]>;
  /** Instances the reconciler must look at: dispatched, and due at or before `now`. */
  due(deploymentId: string, now: string): Promise<string[]>;
}

/** EC2 instances matching a tag set, `running` only (DescribeInstances, paginated). */
export interface Ec2TargetLookup {
  /** With `instanceIds`, only those of them that match (an explicit target list: at most 200). */
  findInstanceIds(query: { tagSet: TagSet; region?: string | undefined; roleArn?: string | undefined; instanceIds?: readonly string[] | undefined }): Promise<string[]>;
}

/** An agent's open control-channel connection. */
export interface AgentConnection {
  instanceId: string;
  connectionId: string;
  /** The Management API endpoint that reaches this connection (https://<api domain>/<stage>). */
  endpoint: string;
  principal: string;
  connectedAt: string;
}

export interface AgentConnectionsRepository {
  /** Records the connection as the instance's current one (a newer connection replaces an older one, which stays known). */
  put(connection: AgentConnection): Promise<void>;
  /**
   * Removes the connection. Only while the instance's record names it is that
   * record changed: the newest older connection still open takes its place, or
   * with none the record goes. Idempotent.
   */
  remove(connectionId: string, instanceId?: string): Promise<void>;
  /** The current connection of each instance that has one. */
  find(instanceIds: readonly string[]): Promise<AgentConnection[]>;
}

/** What a poll reads in one request: the agent's first assignment, its recorded contact and its open channel. */
export interface AgentCheckIn {
  assignment?: { deploymentId: string } | undefined;
  presence?: PresenceRecord | undefined;
  connection?: LiveConnection | undefined;
}

/** What GET /instances shows an agent from: its recorded contact, its open channel, the leases of the work it holds. */
export interface AgentContacts {
  presence?: PresenceRecord | undefined;
  connection?: LiveConnection | undefined;
  leaseExpiries: string[];
}

export interface AgentPresenceRepository {
  /** One strongly consistent Query of the instance's agent partition. */
  checkIn(instanceId: string): Promise<AgentCheckIn>;
  /** Records a contact; the version only when given (reports do not carry it). */
  record(instanceId: string, contact: { lastSeenAt: string; version?: string | null | undefined }): Promise<void>;
  /**
   * The recorded contact and open channel of each instance (absent ones have
   * neither), and the lease ends of the work its agent holds (its contacts
   * while it works).
   */
  statuses(instanceIds: readonly string[]): Promise<Map<string, AgentContacts>>;
}

/** Live logs (docs/live-logs.md): follower leases and the chunks streamed while one lasts. */
export interface LiveLogRepository {
  /** When the follower lease on one instance deployment's log ends (undefined: nobody follows). */
  followUntil(deploymentId: string, instanceId: string): Promise<string | undefined>;
  /** Sets the lease to end at `until` (a plain write: the later of two racing readers wins either way). */
  follow(deploymentId: string, instanceId: string, until: string): Promise<void>;
  /** Keeps one chunk; a chunk already kept under that number is left as it is (a repeat). */
  append(deploymentId: string, instanceId: string, chunk: LiveChunk): Promise<void>;
  /** Chunks numbered after `cursor`, in order, at most `limit`; `more` when others follow them. */
  after(deploymentId: string, instanceId: string, cursor: number, limit: number): Promise<{ chunks: LiveChunk[]; more: boolean }>;
}

/**
 * Tells agents there is something for them now (work dispatched, a stop
 * requested). Best effort: it never throws, and agents still poll slowly.
 */
export interface InstanceNotifier {
  wake(instanceIds: readonly string[], reason: WakeReason, deploymentId?: string): Promise<void>;
}

/** Presigned S3 URLs handed to agents. */
export interface BundleUrls {
  bundleDownloadUrl(revision: Revision): Promise<string>;
  logUploadUrl(deploymentId: string, instanceId: string): Promise<string>;
  logDownloadUrl(deploymentId: string, instanceId: string): Promise<string>;
}

/** What a build action asks its build service (CodeBuild in AWS, the local runner in local mode) to run. */
export interface BuildStart {
  project: string;
  /** The execution's revision: a zip the build runs on. */
  source: { bucket: string; key: string; version?: string | undefined };
  /** Where the output artifact goes: `<path>/<name>` in `bucket`, below Fleetline's reserved build prefix. */
  output: { bucket: string; path: string; name: string };
  environmentVariables: BuildVariable[];
  /** A buildspec given with the action, in place of the project's. */
  buildspec?: string | undefined;
  /** The same token never starts a second build. */
  idempotencyToken: string;
}

export interface BuildService {
  start(request: BuildStart): Promise<{ buildId: string }>;
  /** What the build has come to, or undefined when it does not exist. */
  get(buildId: string): Promise<BuildSeen | undefined>;
  /** Asks the build to stop; a build that has ended already is left alone. */
  stop(buildId: string): Promise<void>;
}

export interface PipelinesRepository {
  put(pipeline: Omit<Pipeline, 'createdAt' | 'updatedAt'>, now: string): Promise<Upserted<Pipeline>>;
  get(name: string): Promise<Pipeline | undefined>;
  list(page: PageRequest<Pipeline>): Promise<Page<Pipeline>>;
  bySourceBucket(bucket: string): Promise<Pipeline[]>;
  delete(name: string): Promise<void>;
}

export interface ExecutionsRepository {
  /** False when an execution with this ID exists already (a repeated notification). */
  create(execution: Execution): Promise<boolean>;
  /** Records an execution that could not start, already ended (never on the active list); false when the ID exists. */
  recordFailedStart(execution: Execution): Promise<boolean>;
  /** `consistent`: a strongly consistent read, which sees every write that succeeded before it. */
  get(executionId: string, options?: { consistent?: boolean }): Promise<Execution | undefined>;
  listByPipeline(pipeline: string, page: PageRequest): Promise<Page<Execution>>;
  /**
   * Writes the execution if nobody changed it since it was read (ConflictError otherwise);
   * `leaveStage`: gives that stage's slot back in the same write; `notHolding`: only if it does not hold that stage's slot.
   */
  save(execution: Execution, options?: { leaveStage?: number; notHolding?: number }): Promise<Execution>;
  /** Executions waiting to enter a stage, oldest first. */
  waiting(pipeline: string, stageIndex: number): Promise<string[]>;
  acquireStage(pipeline: string, stageIndex: number, executionId: string): Promise<boolean>;
  releaseStage(pipeline: string, stageIndex: number, executionId: string): Promise<void>;
  listActive(): Promise<{ executionId: string; pipeline: string }[]>;
  /** Puts a retried execution back on the active list. */
  markActive(executionId: string, pipeline: string): Promise<void>;
  addGroupWaiter(application: string, group: string, executionId: string): Promise<void>;
  takeGroupWaiters(application: string, group: string): Promise<string[]>;
  /** True unless a newer sequencer was already seen for this object key. */
  recordSequencer(bucket: string, key: string, sequencer: string): Promise<boolean>;
}

/** What S3 says about a revision's object (HeadObject). */
export interface RevisionObject {
  size: number;
  eTag: string;
  /** Hex SHA-256 of the whole object, when S3 keeps a full-object checksum for it. */
  sha256?: string | undefined;
  /** The object's version, when its bucket is versioned. */
  versionId?: string | undefined;
}

/** Reads a revision straight from S3, before anything is written (revision check, pipeline preflight). */
export interface AppspecSource {
  /** HeadObject on the revision's key and version; a problem when there is no such object or it cannot be read. */
  head(revision: Revision): Promise<RevisionObject | { problem: string }>;
  read(revision: Revision): Promise<AppspecRead | { problem: string }>;
  /**
   * Hex SHA-256 of the whole object, read once, on the condition that it still
   * has the revision's ETag; a problem when it no longer does.
   */
  sha256(revision: Revision): Promise<{ sha256: string } | { problem: string }>;
}

/** A bundle's appspec as found, and its files (relative to the bundle's root) when the read saw all of them. */
export interface AppspecRead {
  appspec: string;
  appspecPath?: string;
  files?: string[];
}

export interface AccessRulesRepository {
  /** True when the rule is new. */
  put(rule: AccessRule): Promise<boolean>;
  get(id: string): Promise<AccessRule | undefined>;
  list(): Promise<AccessRule[]>;
  delete(id: string): Promise<void>;
}

export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  durationSeconds: number;
  policy?: string | undefined;
  externalId?: string | undefined;
  tags: { key: string; value: string }[];
}

export interface CredentialIssuer {
  assumeRole(input: AssumeRoleInput): Promise<IssuedCredentials>;
}

/** Who obtained which role's credentials, when, until when, from where: never the secret. */
export interface CredentialAuditEntry {
  id: string;
  caller: string;
  roleArn: string;
  sessionName: string;
  issuedAt: string;
  expiration: string;
  /** The caller's address (POST /credentials). */
  sourceIp?: string | undefined;
  durationSeconds: number;
  /** Hook credentials: who set the group's hookRoleArn, and the deployment and instance the agent (`caller`) got them for. */
  configuredBy?: string | undefined;
  deploymentId?: string | undefined;
  instanceId?: string | undefined;
}

export interface CredentialAuditLog {
  record(entry: CredentialAuditEntry): Promise<void>;
  list(page: PageRequest): Promise<Page<CredentialAuditEntry>>;
}

/** A table write as the stream hands it over: what changed, and where and when DynamoDB recorded it. */
export type StateChange =
  | { kind: 'deployment'; before: Deployment | undefined; after: Deployment }
  | { kind: 'instance'; before: InstanceDeployment | undefined; after: InstanceDeployment }
  | { kind: 'execution'; before: Execution | undefined; after: Execution }
  /** An event newly written to the feed: to publish. */
  | { kind: 'event'; event: FleetEvent };

export interface RecordedChange {
  change: StateChange;
  /** The table's account, region and partition (from the stream's ARN), and the time of the write, to the second. */
  origin: { partition: string; account: string; region: string; time: string };
  /** Orders the change's events in the feed: its time, then its place in the stream (the same on a replay). */
  position: string;
}

export interface EventFilter {
  since?: string | undefined;
  type?: DetailType | undefined;
  application?: string | undefined;
}

/** The event feed (README, Events): state changes as AWS's events, kept 14 days. */
export interface EventFeed {
  /** What a stream record changed, when it is a deployment, instance, execution or newly written event. */
  changeOf(record: DynamoDBRecord): RecordedChange | undefined;
  /** Writes each event once, at its position: a replayed change writes nothing again. */
  record(entries: { event: FleetEvent; position: string }[]): Promise<void>;
  /** Oldest first, from `since` on. */
  list(filter: EventFilter, page: PageRequest<FleetEvent>): Promise<Page<FleetEvent>>;
}

/** Where deployment groups' triggers send their notifications (SNS in AWS; the dev server's log locally). */
export interface TriggerPublisher {
  /** Publishes one notification to its topic, or throws saying why not. */
  publish(notification: TriggerNotification): Promise<void>;
}

/** Where events are published besides the feed (EventBridge in AWS; nothing locally). */
export interface EventPublisher {
  /** Publishes all, or throws naming the first event it could not publish. */
  publish(events: FleetEvent[]): Promise<void>;
}
