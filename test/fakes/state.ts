import type { AccessRule } from '../../lib/domain/access.js';
import type { Application } from '../../lib/domain/application.js';
import type { DeploymentGroup } from '../../lib/domain/deployment-group.js';
import type { Deployment, InstanceDeployment, Revision } from '../../lib/domain/deployment.js';
import type { Tag } from '../../lib/domain/tags.js';
import type { LiveChunk } from '../../lib/domain/live-log.js';
import type { Execution, Pipeline } from '../../lib/domain/pipeline.js';
import type { CredentialAuditEntry, ReservedChunk } from '../../lib/ports.js';
import { FakeStore } from './store.js';

/** An instance deployment as stored: its lifecycle events in the adapters' stored form, and its index entry. */
export interface StoredInstance extends Omit<InstanceDeployment, 'events' | 'watchAt'> {
  eventAttributes: Record<string, unknown>;
  /** The sparse index it is on: waiting for a batch, or dispatched (with when the reconciler looks next). */
  indexedAs?: 'pending' | 'running' | undefined;
  indexKey?: string | undefined;
}

export interface StoredConnection {
  instanceId: string;
  connectionId: string;
  endpoint?: string | undefined;
  principal: string;
  connectedAt: string;
  expiresAt: number;
  earlier?: string[] | undefined;
}

/** Every record of the fakes: one map per kind of record, keyed as the table keys them (without the table's syntax). */
export interface FleetState {
  applications: Map<string, { application: Application; groupCount: number }>;
  /** By `<application>/<group>`. */
  /** `queue`: `<createdAt>#<id>` → deployment ID of each deployment queued for the group. */
  groups: Map<string, { group: DeploymentGroup; activeDeploymentId?: string; lastSuccessful?: { deploymentId: string; revision: Revision }; queue?: Map<string, string> }>;
  instances: Map<string, { instanceId: string; tags: Tag[]; iamArn: string | null; requestedTags?: Tag[] | null; registeredAt: string; updatedAt: string }>;
  /** `active`: on the reconciler's list of unfinished deployments. */
  deployments: Map<string, { deployment: Deployment; active: boolean }>;
  /** Listing partition (all, an application's, a group's) → `<createdAt>#<id>` → deployment ID. */
  listings: Map<string, Map<string, string>>;
  idempotency: Map<string, { deploymentId: string; requestFingerprint?: string; expiresAt: number }>;
  /** Deployment → instance → its item. */
  instanceDeployments: Map<string, Map<string, StoredInstance>>;
  /** `<deployment>/<instance>` → event → output tail. */
  outputs: Map<string, Map<string, { outputTail: string; expiresAt: number }>>;
  /** Deployment → chunk key → chunk. */
  chunks: Map<string, Map<string, ReservedChunk & { expiresAt: number }>>;
  /** Instance → deployment → its assignment. */
  assignments: Map<string, Map<string, { expiresAt: number }>>;
  presence: Map<string, { lastSeenAt: string; version?: string | null; expiresAt: number }>;
  /** By connection ID, and each instance's current one. */
  connections: Map<string, StoredConnection>;
  agentConnections: Map<string, StoredConnection>;
  pipelines: Map<string, Pipeline>;
  executions: Map<string, Execution>;
  /** Execution → pipeline, while it has not ended. */
  activeExecutions: Map<string, string>;
  /** `<pipeline>/<stage>` → the execution holding it. */
  stageSlots: Map<string, string>;
  /** `<application>/<group>` → execution → expiry. */
  groupWaiters: Map<string, Map<string, number>>;
  /** `<bucket>/<key>` → newest sequencer seen. */
  sequencers: Map<string, { latest: string; expiresAt: number }>;
  accessRules: Map<string, AccessRule>;
  /** `<issuedAt>#<id>` → entry. */
  audit: Map<string, CredentialAuditEntry & { expiresAt: number }>;
  /** `<deployment>/<instance>` → when its follower lease ends. */
  liveFollows: Map<string, string>;
  /** `<deployment>/<instance>` → seq → chunk. */
  liveChunks: Map<string, Map<number, LiveChunk>>;
}

export type FleetStore = FakeStore<FleetState>;

export function createFleetStore(): FleetStore {
  return new FakeStore<FleetState>({
    applications: new Map(),
    groups: new Map(),
    instances: new Map(),
    deployments: new Map(),
    listings: new Map(),
    idempotency: new Map(),
    instanceDeployments: new Map(),
    outputs: new Map(),
    chunks: new Map(),
    assignments: new Map(),
    presence: new Map(),
    connections: new Map(),
    agentConnections: new Map(),
    pipelines: new Map(),
    executions: new Map(),
    activeExecutions: new Map(),
    stageSlots: new Map(),
    groupWaiters: new Map(),
    sequencers: new Map(),
    accessRules: new Map(),
    audit: new Map(),
    liveFollows: new Map(),
    liveChunks: new Map(),
  });
}

export const groupKey = (application: string, group: string) => `${application}/${group}`;

/** Epoch seconds `days` from `from` (the adapters' TTL attribute). */
export const expiry = (days: number, from: number = Date.now()) => Math.floor(from / 1000) + days * 24 * 3600;
