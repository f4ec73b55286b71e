import { type NativeAttributeValue, PutCommand, QueryCommand, type QueryCommandOutput, type TransactWriteCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type EventRecord, type InstanceDeployment, initialEvents } from '../../domain/deployment.js';
import { ConflictError } from '../../errors.js';
import type { InstanceDeploymentsRepository, InstanceTransition, Page, PageRequest, ReservedChunk } from '../../ports.js';
import { batchPut } from './batch-write.js';
import { TTL_DAYS, expiresAt } from './ttl.js';
import { cancellationReasons, isConditionalCheckFailed } from './conditions.js';
import { changedEventAttributes, eventsOf, withoutEventAttributes } from './event-attributes.js';
import { COUNTER, OFFLINE } from './deployments-repository.js';
import { keys } from './keys.js';
import { type TableClient, withoutKeys } from './table-client.js';

type Item = Record<string, NativeAttributeValue>;
type Status = InstanceDeployment['status'];

const isOffline = (status: Status) => (status === 'InProgress' || status === 'Failed' || status === 'Unknown' ? 1 : 0);
const counterOf = (status: Status) =>
  COUNTER[({ Pending: 'pending', InProgress: 'inProgress', Succeeded: 'succeeded', Failed: 'failed', Skipped: 'skipped', Unknown: 'unknown' } as const)[status]];

function toItem(instance: InstanceDeployment): Item {
  const { events, watchAt: _kept, ...rest } = instance;
  return {
    ...keys.instanceDeployment(instance.deploymentId, instance.instanceId),
    ...(instance.status === 'Pending' ? keys.pendingInstance(instance.deploymentId, instance.instanceId) : {}),
    type: 'InstanceDeployment',
    ...rest,
    ...changedEventAttributes(initialEvents(), events, instance.status !== 'Pending' && instance.status !== 'InProgress'),
  };
}

export function toInstanceDeployment(item: Item): InstanceDeployment {
  const running = item.GSI2PK === keys.runningInstance(String(item.deploymentId), '').GSI2PK;
  return { ...withoutKeys<InstanceDeployment>(withoutEventAttributes(item)), events: eventsOf(item), ...(running ? { watchAt: String(item.GSI2SK) } : {}) };
}

/** A transaction holds at most 100 operations: 49 instances × 2 + the chunk + the deployment. */
const DISPATCH_CHUNK = 49;

/** What skipping an instance writes: its events read as Skipped once it has ended, so nothing of them is. */
export function skipUpdate(now: string) {
  return {
    UpdateExpression: 'SET #status = :skipped, endedAt = :now REMOVE GSI2PK, GSI2SK ADD version :one',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':skipped': 'Skipped', ':now': now, ':one': 1 },
  };
}

/** skipUpdate applied to a whole item read back, for a rewrite without a condition. */
function skippedItem(item: Item, now: string): Item {
  const { GSI2PK: _pk, GSI2SK: _sk, ...rest } = item;
  return { ...rest, status: 'Skipped', endedAt: now, version: (typeof item.version === 'number' ? item.version : 0) + 1 };
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export class DynamoInstanceDeploymentsRepository implements InstanceDeploymentsRepository {
  constructor(private readonly table: TableClient) {}

  async putAll(items: InstanceDeployment[]): Promise<void> {
    await batchPut(this.table.doc, this.table.tableName, items.map(toItem));
  }

  async get(deploymentId: string, instanceId: string): Promise<InstanceDeployment | undefined> {
    const item = await this.table.get(keys.instanceDeployment(deploymentId, instanceId));
    return item && toInstanceDeployment(item);
  }

  async list(deploymentId: string, page: PageRequest): Promise<Page<InstanceDeployment>> {
    const { PK, skPrefix } = keys.instanceDeploymentPartition(deploymentId);
    return this.table.queryPage(
      { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix } },
      page,
      { attributes: ['PK', 'SK'], partition: { attribute: 'PK', value: PK } },
      { values: (items) => items.map(toInstanceDeployment) },
    );
  }

  async saveOutput(deploymentId: string, instanceId: string, event: string, outputTail: string): Promise<void> {
    await this.table.doc.send(
      new PutCommand({ TableName: this.table.tableName, Item: { ...keys.eventOutput(deploymentId, instanceId, event), event, outputTail, expiresAt: expiresAt(TTL_DAYS.eventOutput) } }),
    );
  }

  async outputs(deploymentId: string, instanceId: string): Promise<Record<string, string>> {
    const { PK, SK } = keys.eventOutput(deploymentId, instanceId, '');
    const outputs: Record<string, string> = {};
    await this.table.queryEach(
      { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': PK, ':prefix': SK } },
      (page) => {
        for (const item of page.Items ?? []) outputs[String(item.event)] = String(item.outputTail);
      },
    );
    return outputs;
  }

  async failedInstances(deploymentId: string, limit: number, statuses: readonly InstanceDeployment['status'][] = ['Failed', 'Unknown']): Promise<InstanceDeployment[]> {
    const values = Object.fromEntries(statuses.map((status, i) => [`:s${i}`, status]));
    const { PK, skPrefix } = keys.instanceDeploymentPartition(deploymentId);
    const found: InstanceDeployment[] = [];
    let ExclusiveStartKey: Record<string, NativeAttributeValue> | undefined;
    do {
      const out = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          FilterExpression: `#status IN (${Object.keys(values).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix, ...values },
          ExclusiveStartKey,
        }),
      );
      found.push(...(out.Items ?? []).map(toInstanceDeployment));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey && found.length < limit);
    return found.slice(0, limit);
  }

  async pendingCandidates(deploymentId: string, limit: number): Promise<string[]> {
    return this.gsi2Ids(`PENDING#${deploymentId}`, limit);
  }

  async due(deploymentId: string, now: string): Promise<string[]> {
    const out = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :p AND GSI2SK <= :now',
        ExpressionAttributeValues: { ':p': keys.runningInstance(deploymentId, now).GSI2PK, ':now': now },
        ProjectionExpression: 'instanceId',
      }),
    );
    return (out.Items ?? []).map((i) => String(i.instanceId));
  }

  async findAssignment(instanceId: string): Promise<{ deploymentId: string } | undefined> {
    const { PK, skPrefix } = keys.agentInboxPartition(instanceId);
    const out = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix },
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    return item ? { deploymentId: String(item.deploymentId) } : undefined;
  }

  async existingIds(deploymentId: string): Promise<string[]> {
    const { PK, skPrefix } = keys.instanceDeploymentPartition(deploymentId);
    const ids: string[] = [];
    await this.table.queryEach(
      {
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix },
        ProjectionExpression: 'instanceId',
        ConsistentRead: true,
      },
      (page) => {
        for (const item of page.Items ?? []) ids.push(String(item.instanceId));
      },
    );
    return ids;
  }

  async runningIds(deploymentId: string): Promise<string[]> {
    const ids: string[] = [];
    await this.table.queryEach(
      {
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :p',
        ExpressionAttributeValues: { ':p': keys.runningInstance(deploymentId, '').GSI2PK },
        ProjectionExpression: 'instanceId',
      },
      (page) => {
        for (const item of page.Items ?? []) ids.push(String(item.instanceId));
      },
    );
    return ids;
  }

  async proposeBatch(deploymentId: string, batch: number, token: string, instanceIds: string[]): Promise<ReservedChunk[]> {
    const items = chunks(instanceIds, DISPATCH_CHUNK).map((part, chunk) => ({
      ...keys.reservedChunk(deploymentId, batch, token, chunk),
      type: 'ReservedChunk',
      deploymentId,
      batch,
      token,
      instanceIds: part,
      expiresAt: expiresAt(TTL_DAYS.reservedChunk),
    }));
    await batchPut(this.table.doc, this.table.tableName, items);
    return items.map((item) => ({ key: item.SK, token, instanceIds: item.instanceIds }));
  }

  async reservedChunks(deploymentId: string): Promise<ReservedChunk[]> {
    const { PK, skPrefix } = keys.reservedChunkPartition(deploymentId);
    const found: ReservedChunk[] = [];
    await this.table.queryEach(
      { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix }, ConsistentRead: true },
      (page) => {
        for (const item of page.Items ?? []) found.push({ key: String(item.SK), token: String(item.token), instanceIds: item.instanceIds as string[] });
      },
    );
    return found;
  }

  async dispatchChunk(deploymentId: string, chunk: ReservedChunk, options: { now: string; watchAt: string }): Promise<string[]> {
    const { tableName } = this.table;
    const running = keys.runningInstance(deploymentId, options.watchAt);
    let ids = chunk.instanceIds;
    let givenBack = 0;
    for (;;) {
      const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
        ...ids.flatMap((instanceId) => [
          {
            Update: {
              TableName: tableName,
              Key: keys.instanceDeployment(deploymentId, instanceId),
              UpdateExpression: 'SET #status = :inProgress, dispatchedAt = :now, GSI2PK = :g2pk, GSI2SK = :g2sk ADD version :one',
              ConditionExpression: '#status = :pending',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':inProgress': 'InProgress', ':pending': 'Pending', ':now': options.now, ':g2pk': running.GSI2PK, ':g2sk': running.GSI2SK, ':one': 1 },
            },
          },
          { Put: { TableName: tableName, Item: { ...keys.agentInbox(instanceId, deploymentId), type: 'AgentAssignment', deploymentId, instanceId, expiresAt: expiresAt(TTL_DAYS.agentAssignment, Date.parse(options.now)) } } },
        ]),
        { Delete: { TableName: tableName, Key: { PK: keys.deployment(deploymentId).PK, SK: chunk.key }, ConditionExpression: 'attribute_exists(PK)' } },
        ...(givenBack > 0 ? [this.giveBack(deploymentId, givenBack)] : []),
      ];
      try {
        await this.table.transactWrite({ TransactItems: items });
        return ids;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[ids.length * 2] === 'ConditionalCheckFailed') return []; // another worker dispatched this chunk
        const stale = new Set(ids.filter((_, i) => reasons[i * 2] === 'ConditionalCheckFailed'));
        if (stale.size === 0) throw error;
        ids = ids.filter((id) => !stale.has(id));
        givenBack += stale.size;
      }
    }
  }

  async releaseChunk(deploymentId: string, chunk: ReservedChunk): Promise<void> {
    try {
      await this.table.transactWrite({
        TransactItems: [
          { Delete: { TableName: this.table.tableName, Key: { PK: keys.deployment(deploymentId).PK, SK: chunk.key }, ConditionExpression: 'attribute_exists(PK)' } },
          this.giveBack(deploymentId, chunk.instanceIds.length),
        ],
      });
    } catch (error) {
      if (cancellationReasons(error)?.[0] !== 'ConditionalCheckFailed') throw error; // released (or dispatched) already
    }
  }

  /** A reservation's slots handed back: those instances are counted pending again. */
  private giveBack(deploymentId: string, n: number) {
    return {
      Update: {
        TableName: this.table.tableName,
        Key: keys.deployment(deploymentId),
        UpdateExpression: `ADD ${COUNTER.pending} :n, ${COUNTER.inProgress} :minus, ${OFFLINE} :minus`,
        ExpressionAttributeValues: { ':n': n, ':minus': -n },
      },
    };
  }

  /**
   * Pending → Skipped for every instance of an ended deployment whose counters
   * already count them skipped (countPendingAsSkipped). Nothing else writes such
   * an item any more (no batch is reserved once a deployment has ended, and its
   * reserved chunks are dispatched or given back before), so each is rewritten
   * whole, 25 per BatchWriteItem, from a consistent read of the partition; the
   * next page is read while one is written. A replay rewrites what is still pending.
   */
  async skipCountedPending(deploymentId: string, now: string): Promise<number> {
    const { PK, skPrefix } = keys.instanceDeploymentPartition(deploymentId);
    const page = (ExclusiveStartKey?: Item): Promise<QueryCommandOutput> => {
      const read = this.table.doc.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          FilterExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix, ':pending': 'Pending' },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      read.catch(() => undefined); // awaited below; a write failing first must not leave it unhandled
      return read;
    };
    let skipped = 0;
    for (let next: Promise<QueryCommandOutput> | undefined = page(); next; ) {
      const out: QueryCommandOutput = await next;
      next = out.LastEvaluatedKey ? page(out.LastEvaluatedKey) : undefined;
      const items = (out.Items ?? []).map((item) => skippedItem(item, now));
      await batchPut(this.table.doc, this.table.tableName, items);
      skipped += items.length;
    }
    return skipped;
  }

  async skipUnacknowledged(deploymentId: string, instanceIds: string[], now: string): Promise<string[]> {
    const { tableName } = this.table;
    const skip = skipUpdate(now);
    const skipped: string[] = [];
    for (const chunk of chunks(instanceIds, DISPATCH_CHUNK)) {
      const done = await this.perInstanceTransaction(chunk, 2, (ids) => [
        ...ids.flatMap((instanceId) => [
          {
            Update: {
              TableName: tableName,
              Key: keys.instanceDeployment(deploymentId, instanceId),
              ...skip,
              ConditionExpression: '#status = :from AND attribute_not_exists(acknowledgedAt)',
              ExpressionAttributeValues: { ...skip.ExpressionAttributeValues, ':from': 'InProgress' },
            },
          },
          { Delete: { TableName: tableName, Key: keys.agentInbox(instanceId, deploymentId) } },
        ]),
        {
          Update: {
            TableName: tableName,
            Key: keys.deployment(deploymentId),
            UpdateExpression: `ADD ${COUNTER.inProgress} :minus, ${COUNTER.skipped} :n, ${OFFLINE} :minus`,
            ExpressionAttributeValues: { ':n': ids.length, ':minus': -ids.length },
          },
        },
      ]);
      if (done !== 'busy') skipped.push(...done);
    }
    return skipped;
  }

  /**
   * Runs a transaction built from instance IDs (each owning `perInstance`
   * operations, the last operation being the deployment's). Instances whose
   * condition failed are dropped and the rest tried again; 'busy' when the
   * deployment's own condition failed.
   */
  private async perInstanceTransaction(
    instanceIds: string[],
    perInstance: number,
    build: (ids: string[]) => NonNullable<TransactWriteCommandInput['TransactItems']>,
  ): Promise<string[] | 'busy'> {
    let ids = instanceIds;
    while (ids.length > 0) {
      const items = build(ids);
      try {
        await this.table.transactWrite({ TransactItems: items });
        return ids;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        const failed = new Set(ids.filter((_, i) => reasons[i * perInstance] === 'ConditionalCheckFailed'));
        if (failed.size > 0) {
          ids = ids.filter((id) => !failed.has(id));
          continue;
        }
        if (reasons[items.length - 1] === 'ConditionalCheckFailed') return 'busy';
        throw error;
      }
    }
    return [];
  }

  async update(
    instance: InstanceDeployment,
    changes: {
      events: EventRecord[];
      transition?: InstanceTransition | undefined;
      now: string;
      leaseExpiresAt?: string;
      watchAt?: string;
      acknowledgedAt?: string;
    },
  ): Promise<InstanceDeployment> {
    const { tableName } = this.table;
    const key = keys.instanceDeployment(instance.deploymentId, instance.instanceId);
    const names: Record<string, string> = {};
    const values: Item = { ':v': instance.version, ':one': 1 };
    const sets: string[] = [];
    const removes: string[] = [];
    // Only the events that changed are written, each its own attribute.
    Object.entries(changedEventAttributes(instance.events, changes.events, changes.transition !== undefined)).forEach(([attribute, stored], i) => {
      names[`#e${i}`] = attribute;
      values[`:e${i}`] = stored;
      sets.push(`#e${i} = :e${i}`);
    });
    const next: InstanceDeployment = { ...instance, events: changes.events, version: instance.version + 1 };
    if (changes.transition) {
      names['#status'] = 'status';
      sets.push('#status = :to', 'endedAt = :now');
      values[':to'] = changes.transition;
      values[':now'] = changes.now;
      removes.push('GSI2PK', 'GSI2SK');
      Object.assign(next, { status: changes.transition, endedAt: changes.now, watchAt: undefined });
    } else {
      for (const field of ['leaseExpiresAt', 'acknowledgedAt'] as const) {
        if (changes[field] === undefined) continue;
        sets.push(`${field} = :${field}`);
        values[`:${field}`] = changes[field];
        next[field] = changes[field];
      }
      if (changes.watchAt !== undefined && instance.status === 'InProgress') {
        sets.push('GSI2SK = :watchAt');
        values[':watchAt'] = changes.watchAt;
        next.watchAt = changes.watchAt;
      }
    }
    const instanceUpdate = {
      TableName: tableName,
      Key: key,
      UpdateExpression: `${sets.length ? `SET ${sets.join(', ')} ` : ''}${removes.length ? `REMOVE ${removes.join(', ')} ` : ''}ADD version :one`,
      ConditionExpression: 'version = :v',
      ExpressionAttributeNames: Object.keys(names).length ? names : undefined,
      ExpressionAttributeValues: values,
    };
    try {
      if (!changes.transition) {
        await this.table.doc.send(new UpdateCommand(instanceUpdate));
        return next;
      }
      const offlineDelta = isOffline(changes.transition) - isOffline(instance.status);
      await this.table.transactWrite({
          TransactItems: [
            { Update: instanceUpdate },
            { Delete: { TableName: tableName, Key: keys.agentInbox(instance.instanceId, instance.deploymentId) } },
            {
              Update: {
                TableName: tableName,
                Key: keys.deployment(instance.deploymentId),
                UpdateExpression: `ADD ${counterOf(instance.status)} :minus, ${counterOf(changes.transition)} :one, ${OFFLINE} :delta`,
                ExpressionAttributeValues: { ':minus': -1, ':one': 1, ':delta': offlineDelta },
              },
            },
          ],
        });
      return next;
    } catch (error) {
      if (isConditionalCheckFailed(error) || cancellationReasons(error)?.[0] === 'ConditionalCheckFailed') {
        throw new ConflictError(`Instance ${instance.instanceId} changed while this report was being recorded`);
      }
      throw error;
    }
  }

  private async gsi2Ids(partition: string, limit: number): Promise<string[]> {
    const out = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :p',
        ExpressionAttributeValues: { ':p': partition },
        ProjectionExpression: 'instanceId',
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => String(i.instanceId));
  }
}
