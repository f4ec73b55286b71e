/**
 * Every key of the single table is built here (access patterns: docs/data-model.md).
 * Names cannot contain '#' (see lib/domain/names.ts), so the separators are unambiguous.
 */
export interface TableKey {
  PK: string;
  SK: string;
}

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
  /** GSI1: every deployment, newest last by creation time. */
  deploymentListing: (createdAt: string, id: string) => ({ GSI1PK: 'DEPLOYMENTS', GSI1SK: `${createdAt}#${id}` }),
  /** GSI2 (sparse): deployments not yet finished, for the reconciler. */
  activeDeployment: (id: string) => ({ GSI2PK: 'ACTIVE_DEPLOYMENTS', GSI2SK: id }),
  idempotency: (application: string, group: string, token: string): TableKey => ({
    PK: `IDEMPOTENCY#${application}#${group}`,
    SK: `TOKEN#${token}`,
  }),

  instanceDeployment: (deploymentId: string, instanceId: string): TableKey => ({
    PK: `DEPLOYMENT#${deploymentId}`,
    SK: `INSTANCE#${instanceId}`,
  }),
  instanceDeploymentPartition: (deploymentId: string) => ({ PK: `DEPLOYMENT#${deploymentId}`, skPrefix: 'INSTANCE#' }),
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
} as const;

export const listingPartitions = {
  applications: 'APPS',
  instances: 'INSTANCES',
  deployments: 'DEPLOYMENTS',
  activeDeployments: 'ACTIVE_DEPLOYMENTS',
} as const;

/** Attributes that belong to the table, not to the domain object. */
export const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'type', 'expiresAt'] as const;
