import { createHash } from 'node:crypto';
import type { ScopedToken } from '../../domain/engine-tokens.js';

/**
 * Every key of the single table is built here (access patterns: docs/data-model.md).
 * Names cannot contain '#' (see lib/domain/names.ts), so the separators are unambiguous.
 */
export interface TableKey {
  PK: string;
  SK: string;
}

const DEPLOYMENTS = 'DEPLOYMENTS';
const EVENTS = 'EVENTS';

export const keys = {
  application: (app: string): TableKey => ({ PK: `APP#${app}`, SK: 'APP' }),
  /** GSI1: all applications, by name. */
  applicationListing: (app: string) => ({ GSI1PK: 'APPS', GSI1SK: app }),

  group: (app: string, group: string): TableKey => ({ PK: `APP#${app}`, SK: `GROUP#${group}` }),
  groupPartition: (app: string) => ({ PK: `APP#${app}`, skPrefix: 'GROUP#' }),

  instance: (instanceId: string): TableKey => ({ PK: `INSTANCE#${instanceId}`, SK: 'INSTANCE' }),
  /** GSI1: all registered instances, by ID (target resolution reads this). */
  instanceListing: (instanceId: string) => ({ GSI1PK: 'INSTANCES', GSI1SK: instanceId }),

  deployment: (id: string): TableKey => ({ PK: `DEPLOYMENT#${id}`, SK: 'DEPLOYMENT' }),
  /**
   * Where deployments are listed: every deployment, an application's, a group's.
   * Each listing is its own partition of small items written once with the
   * deployment, so a filtered listing reads only its own keys and the deployment
   * item stays out of every projected index (its counters move on every report).
   */
  deploymentListings: (application: string, group: string) =>
    [DEPLOYMENTS, `${DEPLOYMENTS}#${application}`, `${DEPLOYMENTS}#${application}#${group}`] as const,
  deploymentListingPartition: (filter: { application?: string | undefined; group?: string | undefined }) =>
    filter.application === undefined
      ? DEPLOYMENTS
      : filter.group === undefined
        ? `${DEPLOYMENTS}#${filter.application}`
        : `${DEPLOYMENTS}#${filter.application}#${filter.group}`,
  /** One deployment in one listing, newest last by creation time. */
  deploymentListing: (listing: string, createdAt: string, id: string): TableKey => ({ PK: listing, SK: `${createdAt}#${id}` }),
  /** A deployment waiting for its busy group: the group's queue, oldest first; deleted when it starts or is stopped. */
  queueEntry: (application: string, group: string, createdAt: string, id: string): TableKey => ({ PK: `QUEUE#${application}#${group}`, SK: `${createdAt}#${id}` }),
  queuePartition: (application: string, group: string) => `QUEUE#${application}#${group}`,
  /** GSI2 (sparse): deployments not yet finished, for the reconciler. */
  activeDeployment: (id: string) => ({ GSI2PK: 'ACTIVE_DEPLOYMENTS', GSI2SK: id }),
  /** The owner (a principal ARN, any characters) goes in as a fixed-length hash, so owner and token never run together. */
  idempotency: (application: string, group: string, { owner, token }: ScopedToken): TableKey => ({
    PK: `IDEMPOTENCY#${application}#${group}`,
    SK: `TOKEN#${createHash('sha256').update(owner).digest('hex')}#${token}`,
  }),

  instanceDeployment: (deploymentId: string, instanceId: string): TableKey => ({
    PK: `DEPLOYMENT#${deploymentId}`,
    SK: `INSTANCE#${instanceId}`,
  }),
  instanceDeploymentPartition: (deploymentId: string) => ({ PK: `DEPLOYMENT#${deploymentId}`, skPrefix: 'INSTANCE#' }),
  /** The last 4 KB of one event's output, kept beside the instance item so reports do not rewrite it. */
  eventOutput: (deploymentId: string, instanceId: string, event: string): TableKey => ({
    PK: `DEPLOYMENT#${deploymentId}`,
    SK: `OUTPUT#${instanceId}#${event}`,
  }),
  /** The follower lease on one instance deployment's live log (docs/live-logs.md); the worker pushes `follow` when it is written. */
  liveFollow: (deploymentId: string, instanceId: string): TableKey => ({ PK: `DEPLOYMENT#${deploymentId}`, SK: `LIVEFOLLOW#${instanceId}` }),
  /** One chunk of a running hook's output, numbered from 0 (zero-padded: they sort in order). */
  liveChunk: (deploymentId: string, instanceId: string, seq: number): TableKey => ({
    PK: `DEPLOYMENT#${deploymentId}`,
    SK: `LIVELOG#${instanceId}#${String(seq).padStart(5, '0')}`,
  }),
  /** One chunk (up to 49 instance IDs) of a batch proposed under `token`; the batch is reserved once the deployment names the token. */
  reservedChunk: (deploymentId: string, batch: number, token: string, chunk: number): TableKey => ({
    PK: `DEPLOYMENT#${deploymentId}`,
    SK: `BATCH#${String(batch).padStart(6, '0')}#${token}#${String(chunk).padStart(4, '0')}`,
  }),
  reservedChunkPartition: (deploymentId: string) => ({ PK: `DEPLOYMENT#${deploymentId}`, skPrefix: 'BATCH#' }),
  /** GSI2 (sparse): instances waiting for a batch. */
  pendingInstance: (deploymentId: string, instanceId: string) => ({ GSI2PK: `PENDING#${deploymentId}`, GSI2SK: instanceId }),
  /** GSI2 (sparse): dispatched instances, by the time the reconciler must look at them. */
  runningInstance: (deploymentId: string, watchAt: string) => ({ GSI2PK: `RUNNING#${deploymentId}`, GSI2SK: watchAt }),
  /**
   * A small item per dispatched, unfinished instance deployment: what the agent
   * picks up when it polls (a strongly consistent Query on its own partition).
   */
  agentInbox: (instanceId: string, deploymentId: string): TableKey => ({ PK: `AGENT#${instanceId}`, SK: `ASSIGNMENT#${deploymentId}` }),
  agentInboxPartition: (instanceId: string) => ({ PK: `AGENT#${instanceId}`, skPrefix: 'ASSIGNMENT#' }),
  /** The instance's open control-channel connection (at most one; the newest wins), beside its inbox. */
  agentConnection: (instanceId: string): TableKey => ({ PK: `AGENT#${instanceId}`, SK: 'CONNECTION' }),
  /** The agent's version and last recorded contact, beside its inbox: the poll's one Query reads all three. */
  agentPresence: (instanceId: string): TableKey => ({ PK: `AGENT#${instanceId}`, SK: 'PRESENCE' }),
  agentPartition: (instanceId: string) => ({ PK: `AGENT#${instanceId}` }),
  /** Which instance a connection belongs to: $disconnect knows only the connection ID. */
  connection: (connectionId: string): TableKey => ({ PK: `CONNECTION#${connectionId}`, SK: 'CONNECTION' }),

  pipeline: (name: string): TableKey => ({ PK: `PIPELINE#${name}`, SK: 'PIPELINE' }),
  /** GSI1: every pipeline, by name. */
  pipelineListing: (name: string) => ({ GSI1PK: 'PIPELINES', GSI1SK: name }),
  /** GSI2: pipelines by source bucket (the artifact function's lookup; the name is the sort key). */
  pipelineSource: (bucket: string, name: string) => ({ GSI2PK: `SOURCE#${bucket}`, GSI2SK: name }),
  /** Which execution holds a stage: one at a time. */
  stageSlot: (pipeline: string, stageIndex: number): TableKey => ({
    PK: `PIPELINE#${pipeline}`,
    SK: `STAGE#${String(stageIndex).padStart(3, '0')}`,
  }),

  execution: (id: string): TableKey => ({ PK: `EXECUTION#${id}`, SK: 'EXECUTION' }),
  /** GSI1: a pipeline's executions, newest last. */
  executionListing: (pipeline: string, createdAt: string, id: string) => ({
    GSI1PK: `EXECUTIONS#${pipeline}`,
    GSI1SK: `${createdAt}#${id}`,
  }),
  /** GSI2 (sparse): executions waiting to enter a stage, oldest first. */
  waitingExecution: (pipeline: string, stageIndex: number, createdAt: string, id: string) => ({
    GSI2PK: `WAITING#${pipeline}#${stageIndex}`,
    GSI2SK: `${createdAt}#${id}`,
  }),
  /** Marker items: executions not yet ended (the reconciler's list). */
  activeExecution: (id: string): TableKey => ({ PK: 'ACTIVE_EXECUTIONS', SK: id }),
  /** Marker items: executions whose deploy action waits for a busy group. */
  groupWaiter: (application: string, group: string, executionId: string): TableKey => ({
    PK: `GROUP_WAIT#${application}#${group}`,
    SK: executionId,
  }),
  /** All access rules live in one partition: every authorization reads them together. */
  accessRule: (id: string): TableKey => ({ PK: 'ACCESS_RULES', SK: `RULE#${id}` }),
  /** Credential issuances, by time (audit; expire by TTL). */
  credentialAudit: (at: string, id: string): TableKey => ({ PK: 'CREDENTIAL_AUDIT', SK: `${at}#${id}` }),

  /**
   * The event feed: one item per state-change event, in the order DynamoDB recorded the
   * changes (`position`: the change's time, its stream sequence number, its index).
   */
  event: (position: string): TableKey => ({ PK: EVENTS, SK: position }),
  /** GSI1: an application's events (CodeDeploy's), in the same order. */
  applicationEvent: (application: string, position: string) => ({ GSI1PK: `${EVENTS}#${application}`, GSI1SK: position }),
  applicationEventPartition: (application: string) => `${EVENTS}#${application}`,

  /** The newest S3 sequencer seen for an object key (bucket names hold no '#'). */
  objectSequencer: (bucket: string, key: string): TableKey => ({ PK: `OBJECT#${bucket}#${key}`, SK: 'SEQUENCER' }),
} as const;

export const listingPartitions = {
  applications: 'APPS',
  instances: 'INSTANCES',
  activeDeployments: 'ACTIVE_DEPLOYMENTS',
  pipelines: 'PIPELINES',
  events: EVENTS,
} as const;

/** Attributes that belong to the table, not to the domain object. */
export const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'type', 'expiresAt'] as const;
