import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type LiveConnection, PRESENCE_TTL_DAYS, type PresenceRecord } from '../../domain/agent-presence.js';
import type { AgentCheckIn, AgentContacts, AgentPresenceRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import { expiresAt } from './ttl.js';
import type { TableClient } from './table-client.js';

type Item = Record<string, unknown>;

/** Partitions read at once for GET /instances: a page of instances costs a few round trips, not one per instance. */
const STATUS_QUERIES_AT_ONCE = 16;

/** The deployments an agent partition's inbox names. */
const inboxOf = (instanceId: string, items: Item[]): string[] =>
  items.filter((i) => String(i.SK).startsWith(keys.agentInboxPartition(instanceId).skPrefix)).map((i) => String(i.deploymentId));

const presenceOf = (item: Item | undefined): PresenceRecord | undefined =>
  item && typeof item.lastSeenAt === 'string' ? { version: typeof item.version === 'string' ? item.version : null, lastSeenAt: item.lastSeenAt } : undefined;

const connectionOf = (item: Item | undefined): LiveConnection | undefined =>
  item && typeof item.connectedAt === 'string' && typeof item.expiresAt === 'number' ? { connectedAt: item.connectedAt, expiresAt: item.expiresAt } : undefined;

/** The agent's contacts, kept beside its inbox and connection (AGENT#<instanceId> / PRESENCE). */
export class DynamoAgentPresenceRepository implements AgentPresenceRepository {
  constructor(private readonly table: TableClient) {}

  /**
   * The whole (small) partition in one Query: its assignments, connection and
   * presence items together stay well under 4 KB, so this costs what reading
   * the inbox alone did.
   */
  async checkIn(instanceId: string): Promise<AgentCheckIn> {
    const { PK } = keys.agentPartition(instanceId);
    const out = await this.table.doc.send(
      new QueryCommand({ TableName: this.table.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK }, ConsistentRead: true }),
    );
    const items = out.Items ?? [];
    const assignment = items.find((i) => String(i.SK).startsWith(keys.agentInboxPartition(instanceId).skPrefix));
    const sk = (key: { SK: string }) => items.find((i) => i.SK === key.SK);
    return {
      assignment: assignment ? { deploymentId: String(assignment.deploymentId) } : undefined,
      presence: presenceOf(sk(keys.agentPresence(instanceId))),
      connection: connectionOf(sk(keys.agentConnection(instanceId))),
    };
  }

  async record(instanceId: string, contact: { lastSeenAt: string; version?: string | null | undefined }): Promise<void> {
    const withVersion = contact.version !== undefined;
    await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: keys.agentPresence(instanceId),
        // Contacts may race (a poll beside a report): the record only moves forward.
        ConditionExpression: 'attribute_not_exists(lastSeenAt) OR lastSeenAt < :t',
        UpdateExpression: `SET #type = :type, instanceId = :id, lastSeenAt = :t, expiresAt = :exp${withVersion ? ', version = :v' : ''}`,
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'AgentPresence',
          ':id': instanceId,
          ':t': contact.lastSeenAt,
          ':exp': expiresAt(PRESENCE_TTL_DAYS, Date.parse(contact.lastSeenAt)),
          ...(withVersion ? { ':v': contact.version } : {}) },
      }),
    ).catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
  }

  /**
   * One Query of each instance's agent partition (a few at a time), then one
   * BatchGetItem per 100 of the instance deployments its inbox names: their
   * leases are its contacts while it works.
   */
  async statuses(instanceIds: readonly string[]): Promise<Map<string, AgentContacts>> {
    const ids = [...new Set(instanceIds)];
    const partitions = new Map<string, Item[]>();
    for (let i = 0; i < ids.length; i += STATUS_QUERIES_AT_ONCE) {
      await Promise.all(ids.slice(i, i + STATUS_QUERIES_AT_ONCE).map(async (id) => partitions.set(id, await this.partition(id))));
    }
    const held = ids.flatMap((id) => inboxOf(id, partitions.get(id) ?? []).map((deploymentId) => keys.instanceDeployment(deploymentId, id)));
    const work = held.length > 0 ? await this.table.batchGet(held) : [];
    const result = new Map<string, AgentContacts>();
    for (const id of ids) {
      const items = partitions.get(id) ?? [];
      const sk = (key: { SK: string }) => items.find((i) => i.SK === key.SK);
      const leaseExpiries = work
        .filter((w) => w.instanceId === id && typeof w.leaseExpiresAt === 'string' && typeof w.acknowledgedAt === 'string')
        .map((w) => String(w.leaseExpiresAt));
      result.set(id, { presence: presenceOf(sk(keys.agentPresence(id))), connection: connectionOf(sk(keys.agentConnection(id))), leaseExpiries });
    }
    return result;
  }

  private async partition(instanceId: string): Promise<Item[]> {
    const out = await this.table.doc.send(
      new QueryCommand({ TableName: this.table.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': keys.agentPartition(instanceId).PK } }),
    );
    return out.Items ?? [];
  }
}
