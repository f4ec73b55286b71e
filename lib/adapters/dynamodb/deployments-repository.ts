import { GetCommand, type NativeAttributeValue, QueryCommand, type TransactWriteCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Deployment, Revision } from '../../domain/deployment.js';
import type { FreezeLease } from '../../domain/freeze-lease.js';
import type { InstanceCounts } from '../../domain/minimum-healthy.js';
import { GroupBusyError } from '../../errors.js';
import type { ScopedToken } from '../../domain/engine-tokens.js';
import type { CreateResult, DeploymentFilter, DeploymentsRepository, Page, PageRequest, QueuedChanges } from '../../ports.js';
import { cancellationReasons, cancelledItem, isConditionalCheckFailed } from './conditions.js';
import { keys, listingPartitions } from './keys.js';
import { TTL_DAYS, expiresAt } from './ttl.js';
import type { TableClient } from './table-client.js';
import { notFound } from '../../domain/not-found.js';

type Item = Record<string, NativeAttributeValue>;

/** Counters live as top-level numbers so one update can move several atomically. */
export const COUNTER = {
  pending: 'countPending',
  inProgress: 'countInProgress',
  succeeded: 'countSucceeded',
  failed: 'countFailed',
  skipped: 'countSkipped',
  unknown: 'countUnknown',
} as const satisfies Record<keyof InstanceCounts, string>;
/** In progress + failed + unknown: the hosts not serving, which the batch guard caps. */
export const OFFLINE = 'countOffline';

const UNFINISHED = { ':created': 'Created', ':inProgress': 'InProgress' };

export function toDeployment(item: Item): Deployment {
  const { PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, type, [OFFLINE]: offline, ...rest } = item;
  const counts = Object.fromEntries(
    Object.entries(COUNTER).map(([name, attribute]) => [name, Number(rest[attribute] ?? 0)]),
  ) as unknown as InstanceCounts;
  for (const attribute of Object.values(COUNTER)) delete rest[attribute];
  // A string set: tokens of the batches reserved but not yet dispatched.
  const openBatches = rest.openBatches instanceof Set ? [...(rest.openBatches as Set<string>)] : undefined;
  delete rest.openBatches;
  return { ...(rest as Omit<Deployment, 'counts'>), counts, ...(openBatches ? { openBatches } : {}) };
}

function toItem(d: Deployment): Item {
  const { counts, ...rest } = d;
  // A queued deployment is on the active list too: the reconciler's pass over it starts its group's queue (a backstop).
  const unfinished = d.status === 'Created' || d.status === 'InProgress' || d.status === 'Queued';
  return {
    ...keys.deployment(d.deploymentId),
    ...(unfinished ? keys.activeDeployment(d.deploymentId) : {}),
    type: 'Deployment',
    ...rest,
    ...Object.fromEntries(Object.entries(COUNTER).map(([name, attribute]) => [attribute, counts[name as keyof InstanceCounts]])),
    [OFFLINE]: counts.inProgress + counts.failed + counts.unknown,
  };
}

export class DynamoDeploymentsRepository implements DeploymentsRepository {
  constructor(private readonly table: TableClient) {}

  async create(
    deployment: Deployment,
    options: { lockGroup: boolean; aheadOfQueue?: boolean | undefined; idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined },
  ): Promise<CreateResult> {
    const { application, group, deploymentId } = deployment;
    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
    if (options.lockGroup) {
      items.push({
        Update: {
          TableName: this.table.tableName,
          Key: keys.group(application, group),
          UpdateExpression: 'SET activeDeploymentId = :id',
          // Deployments queued for the group go first (in creation order), unless this one may not wait (a rollback).
          ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(activeDeploymentId)${options.aheadOfQueue ? '' : ' AND (attribute_not_exists(queueLength) OR queueLength <= :zero)'}`,
          ExpressionAttributeValues: { ':id': deploymentId, ...(options.aheadOfQueue ? {} : { ':zero': 0 }) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    return this.writeNew(deployment, items, options);
  }

  /**
   * Writes a deployment Queued for its busy group: the deployment, its queue
   * entry and the group's queue length in one transaction (with its listings and
   * token, as any new deployment); the worker starts it when the group frees.
   */
  async enqueue(deployment: Deployment, options: { idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined }): Promise<CreateResult> {
    const { application, group, deploymentId, createdAt } = deployment;
    const { tableName } = this.table;
    return this.writeNew(
      deployment,
      [
        {
          Update: {
            TableName: tableName,
            Key: keys.group(application, group),
            UpdateExpression: 'ADD queueLength :one',
            ConditionExpression: 'attribute_exists(PK)',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        { Put: { TableName: tableName, Item: { ...keys.queueEntry(application, group, createdAt, deploymentId), type: 'QueueEntry', deploymentId }, ConditionExpression: 'attribute_not_exists(PK)' } },
      ],
      { ...options, lockGroup: true },
    );
  }

  /** The group's queue, oldest first (consistent): who starts next. */
  async queued(application: string, group: string, limit: number): Promise<string[]> {
    const out = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'PK = :p',
        ExpressionAttributeValues: { ':p': keys.queuePartition(application, group) },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => String(item.deploymentId));
  }

  /**
   * Starts a queued deployment: it takes the group's slot (if free), leaves the
   * queue and becomes Created, in one transaction conditional on each.
   */
  async dequeue(deployment: Deployment, now: string, changes?: QueuedChanges): Promise<'started' | 'busy' | 'notQueued'> {
    // A queued catch-up whose group succeeded since deploys the newer revision: set in the write that starts it.
    const changed = changes ? { ':revision': changes.revision, ':catchUp': changes.catchUp, ':description': changes.description } : {};
    try {
      await this.leaveQueue(deployment, {
        group: { set: 'activeDeploymentId = :id', condition: 'attribute_exists(PK) AND attribute_not_exists(activeDeploymentId)', values: { ':id': deployment.deploymentId } },
        deployment: {
          set: `#status = :created, dequeuedAt = :now${changes ? ', revision = :revision, catchUp = :catchUp, description = :description' : ''}`,
          condition: '#status = :queued AND attribute_not_exists(stopRequested)',
          names: { '#status': 'status' },
          values: { ':created': 'Created', ':queued': 'Queued', ':now': now, ...changed },
        },
        entryCondition: 'attribute_exists(PK)',
      });
      return 'started';
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons[0] === 'ConditionalCheckFailed') return 'busy';
      if (reasons[1] === 'ConditionalCheckFailed' || reasons[2] === 'ConditionalCheckFailed') return 'notQueued';
      throw error;
    }
  }

  /** Ends a deployment while it is still queued (a stop): it leaves the queue and never takes its group. False when it was no longer queued. */
  async endQueued(deployment: Deployment, outcome: { status: 'Stopped'; error: { code: string; message: string }; now: string }): Promise<boolean> {
    try {
      await this.leaveQueue(deployment, {
        group: { condition: 'attribute_exists(PK)' },
        deployment: {
          set: '#status = :status, completedAt = :now, #error = :error',
          condition: '#status = :queued',
          names: { '#status': 'status', '#error': 'error' },
          values: { ':status': outcome.status, ':now': outcome.now, ':error': outcome.error, ':queued': 'Queued' },
        },
      });
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.[1] === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  /**
   * A queued deployment leaves its group's queue, in one transaction of three
   * (their cancellation reasons in this order): the group's queue length goes
   * down (with `group.set` written), the deployment moves on from Queued as
   * `deployment` says, and its queue entry is deleted.
   */
  private leaveQueue(
    deployment: Deployment,
    change: {
      group: { set?: string; condition: string; values?: Item };
      deployment: { set: string; condition: string; names: Record<string, string>; values: Item };
      entryCondition?: string;
    },
  ): Promise<void> {
    const { tableName } = this.table;
    const { application, group, deploymentId, createdAt } = deployment;
    return this.table.transactWrite({
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: keys.group(application, group),
            UpdateExpression: `${change.group.set ? `SET ${change.group.set} ` : ''}ADD queueLength :minus`,
            ConditionExpression: change.group.condition,
            ExpressionAttributeValues: { ...change.group.values, ':minus': -1 },
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: keys.deployment(deploymentId),
            UpdateExpression: `SET ${change.deployment.set}`,
            ConditionExpression: change.deployment.condition,
            ExpressionAttributeNames: change.deployment.names,
            ExpressionAttributeValues: change.deployment.values,
          },
        },
        {
          Delete: {
            TableName: tableName,
            Key: keys.queueEntry(application, group, createdAt, deploymentId),
            ...(change.entryCondition ? { ConditionExpression: change.entryCondition } : {}),
          },
        },
      ],
    });
  }

  /** The new deployment with whatever `before` claims for it (the group's slot or its queue), its listings and its token, in one transaction. */
  private async writeNew(
    deployment: Deployment,
    before: NonNullable<TransactWriteCommandInput['TransactItems']>,
    options: { lockGroup: boolean; idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined },
  ): Promise<CreateResult> {
    const { tableName } = this.table;
    const { application, group, deploymentId } = deployment;
    const items = [...before];
    const claimsGroup = items.length > 0;
    items.push({ Put: { TableName: tableName, Item: toItem(deployment), ConditionExpression: 'attribute_not_exists(PK)' } });
    // Written once, never updated: the same content on a replay.
    for (const listing of keys.deploymentListings(application, group)) {
      items.push({
        Put: { TableName: tableName, Item: { ...keys.deploymentListing(listing, deployment.createdAt, deploymentId), type: 'DeploymentListing', deploymentId } },
      });
    }
    if (options.idempotencyToken) {
      items.push({
        Put: {
          TableName: tableName,
          Item: {
            ...keys.idempotency(application, group, options.idempotencyToken),
            type: 'IdempotencyToken',
            deploymentId,
            ...(options.requestFingerprint ? { requestFingerprint: options.requestFingerprint } : {}),
            expiresAt: expiresAt(TTL_DAYS.idempotencyToken, Date.parse(deployment.createdAt)),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    try {
      await this.table.transactWrite({ TransactItems: items });
      return { kind: 'created', deployment };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      const tokenIndex = options.idempotencyToken ? items.length - 1 : -1;
      if (tokenIndex >= 0 && reasons[tokenIndex] === 'ConditionalCheckFailed') {
        const existing = cancelledItem(error, tokenIndex);
        if (existing) {
          const fingerprint = typeof existing.requestFingerprint === 'string' ? existing.requestFingerprint : undefined;
          return { kind: 'existing', deploymentId: String(existing.deploymentId), requestFingerprint: fingerprint };
        }
      }
      if (claimsGroup && reasons[0] === 'ConditionalCheckFailed') {
        const groupItem = cancelledItem(error, 0);
        if (!groupItem) throw notFound.group(application, group);
        // A retried request whose first attempt took effect (its answer was lost): the slot is already ours.
        if (groupItem.activeDeploymentId === deploymentId) return { kind: 'created', deployment };
        const active = groupItem.activeDeploymentId === undefined ? undefined : String(groupItem.activeDeploymentId);
        throw new GroupBusyError(application, group, active, Number(groupItem.queueLength ?? 0));
      }
      throw error;
    }
  }

  async findByIdempotencyToken(application: string, group: string, token: ScopedToken) {
    const item = await this.table.get(keys.idempotency(application, group, token));
    if (!item) return undefined;
    return { deploymentId: String(item.deploymentId), requestFingerprint: typeof item.requestFingerprint === 'string' ? item.requestFingerprint : undefined };
  }

  async get(deploymentId: string): Promise<Deployment | undefined> {
    const out = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: keys.deployment(deploymentId), ConsistentRead: true }),
    );
    return out.Item && toDeployment(out.Item);
  }

  /**
   * Newest first, from the listing partition the filter names (all, an
   * application's, a group's); a status filter is applied to the items read, so
   * a page may hold fewer items than its limit while a next token remains.
   */
  list(filter: DeploymentFilter, page: PageRequest<Deployment>): Promise<Page<Deployment>> {
    const partition = keys.deploymentListingPartition(filter);
    return this.table.queryPage(
      { KeyConditionExpression: 'PK = :p', ScanIndexForward: false, ExpressionAttributeValues: { ':p': partition } },
      page,
      { attributes: ['PK', 'SK'], partition: { attribute: 'PK', value: partition } },
      {
        values: async (listed) => {
          const ids = listed.map((item) => String(item.deploymentId));
          const found = new Map(
            (await this.table.batchGet(ids.map((id) => keys.deployment(id)))).map((item) => [String(item.deploymentId), toDeployment(item)]),
          );
          return ids.map((id) => found.get(id));
        },
        keep: (d) => filter.status === undefined || d.status === filter.status,
      },
    );
  }

  async claimFreeze(deploymentId: string, lease: FreezeLease, now: string): Promise<boolean> {
    return this.conditionalUpdate(
      deploymentId,
      'SET freezeLease = :lease',
      '#status = :created AND ((attribute_not_exists(freezeLease) AND attribute_not_exists(stopRequested)) OR freezeLease.#until <= :now)',
      { ':lease': lease, ':now': now, ':created': 'Created' },
      { '#until': 'until' },
    );
  }

  async startRollout(deploymentId: string, fleet: { fleetSize: number; minimumHealthyHosts: number; now: string; lease: string }): Promise<boolean> {
    return this.conditionalUpdate(
      deploymentId,
      `SET #status = :inProgress, startedAt = :now, fleetSize = :n, minimumHealthyHosts = :min, ${COUNTER.pending} = :n REMOVE freezeLease`,
      '#status = :created AND freezeLease.#token = :token',
      { ':now': fleet.now, ':n': fleet.fleetSize, ':min': fleet.minimumHealthyHosts, ':token': fleet.lease, ...UNFINISHED },
      { '#token': 'token' },
    );
  }

  async reserveBatch(deploymentId: string, r: { batch: number; token: string; size: number; maxOffline: number }): Promise<boolean> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.deployment(deploymentId),
          UpdateExpression: `SET batchNumber = :batch ADD ${COUNTER.pending} :minus, ${COUNTER.inProgress} :n, ${OFFLINE} :n, openBatches :token`,
          ConditionExpression: [
            '#status = :inProgress',
            'attribute_not_exists(stopRequested)',
            r.batch === 1 ? 'attribute_not_exists(batchNumber)' : 'batchNumber = :previous',
            `${OFFLINE} <= :limit`,
            `${COUNTER.pending} >= :n`,
          ].join(' AND '),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':inProgress': 'InProgress',
            ':batch': r.batch,
            ...(r.batch === 1 ? {} : { ':previous': r.batch - 1 }),
            ':n': r.size,
            ':minus': -r.size,
            ':limit': r.maxOffline - r.size,
            ':token': new Set([r.token]),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async closeBatch(deploymentId: string, token: string): Promise<void> {
    await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: keys.deployment(deploymentId),
        UpdateExpression: 'DELETE openBatches :token',
        ExpressionAttributeValues: { ':token': new Set([token]) },
      }),
    );
  }

  async countPendingAsSkipped(deploymentId: string): Promise<boolean> {
    return this.conditionalUpdate(
      deploymentId,
      `SET ${COUNTER.skipped} = ${COUNTER.skipped} + ${COUNTER.pending}, ${COUNTER.pending} = :zero`,
      `NOT (#status IN (:created, :inProgress)) AND ${COUNTER.pending} > :zero`,
      { ':zero': 0, ...UNFINISHED },
    );
  }

  async markEndHandled(deploymentId: string): Promise<boolean> {
    return this.conditionalUpdate(deploymentId, 'SET endHandled = :true', 'attribute_exists(PK) AND attribute_not_exists(endHandled)', {
      ':true': true,
    });
  }

  async retire(deploymentId: string): Promise<boolean> {
    return this.conditionalUpdate(
      deploymentId,
      'REMOVE GSI2PK, GSI2SK',
      `attribute_exists(GSI2PK) AND NOT (#status IN (:created, :inProgress)) AND endHandled = :true AND ${COUNTER.pending} = :zero AND ${COUNTER.inProgress} = :zero AND attribute_not_exists(openBatches)`,
      { ':true': true, ':zero': 0, ...UNFINISHED },
    );
  }

  async requestStop(deploymentId: string, stop: NonNullable<Deployment['stopRequested']>): Promise<boolean> {
    return this.conditionalUpdate(
      deploymentId,
      'SET stopRequested = :stop',
      '#status IN (:created, :inProgress, :queued) AND attribute_not_exists(stopRequested)',
      { ':stop': stop, ':queued': 'Queued', ...UNFINISHED },
    );
  }

  async finalize(
    deployment: Deployment,
    outcome: { status: 'Succeeded' | 'Failed' | 'Stopped'; error?: { code: string; message: string } | undefined; now: string },
  ): Promise<boolean> {
    const { tableName } = this.table;
    const rememberRevision = outcome.status === 'Succeeded';
    try {
      await this.table.transactWrite({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: keys.deployment(deployment.deploymentId),
                UpdateExpression: `SET #status = :status, completedAt = :now${outcome.error ? ', #error = :error' : ''}`,
                ConditionExpression: '#status IN (:created, :inProgress)',
                ExpressionAttributeNames: { '#status': 'status', ...(outcome.error ? { '#error': 'error' } : {}) },
                ExpressionAttributeValues: {
                  ':status': outcome.status,
                  ':now': outcome.now,
                  ...UNFINISHED,
                  ...(outcome.error ? { ':error': outcome.error } : {}),
                },
              },
            },
            {
              Update: {
                TableName: tableName,
                Key: keys.group(deployment.application, deployment.group),
                UpdateExpression: rememberRevision
                  ? 'REMOVE activeDeploymentId SET lastSuccessful = :last'
                  : 'REMOVE activeDeploymentId',
                ConditionExpression: 'activeDeploymentId = :id OR (attribute_exists(PK) AND attribute_not_exists(activeDeploymentId))',
                ExpressionAttributeValues: {
                  ':id': deployment.deploymentId,
                  ...(rememberRevision ? { ':last': { deploymentId: deployment.deploymentId, revision: deployment.revision } } : {}),
                },
              },
            },
          ],
        });
      return true;
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons?.[0] === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async linkRollback(originalId: string, rollbackId: string): Promise<void> {
    await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: keys.deployment(originalId),
        UpdateExpression: 'SET rolledBackBy = :r',
        ExpressionAttributeValues: { ':r': rollbackId },
      }),
    );
  }

  async listActive(): Promise<Deployment[]> {
    const deployments: Deployment[] = [];
    await this.table.queryEach(
      {
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :p',
        ExpressionAttributeValues: { ':p': listingPartitions.activeDeployments },
      },
      async (page) => {
        // The index holds IDs only: read each deployment itself, consistently.
        for (const item of page.Items ?? []) {
          const deployment = await this.get(String(item.deploymentId));
          if (deployment) deployments.push(deployment);
        }
      },
    );
    return deployments;
  }

  async lastSuccessfulRevision(application: string, group: string): Promise<{ deploymentId: string; revision: Revision } | undefined> {
    const item = await this.table.get(keys.group(application, group));
    return item?.lastSuccessful;
  }

  private async conditionalUpdate(deploymentId: string, update: string, condition: string, values: Item, names: Record<string, string> = {}): Promise<boolean> {
    const allNames = { ...(`${update} ${condition}`.includes('#status') ? { '#status': 'status' } : {}), ...names };
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.deployment(deploymentId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(Object.keys(allNames).length > 0 ? { ExpressionAttributeNames: allNames } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
