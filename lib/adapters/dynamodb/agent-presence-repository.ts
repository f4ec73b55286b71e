import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type LiveConnection, PRESENCE_TTL_DAYS, type PresenceRecord } from '../../domain/agent-presence.js';
import type { AgentCheckIn, AgentPresenceRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import { expiresAt } from './ttl.js';
import type { TableClient } from './table-client.js';

type Item = Record<string, unknown>;

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

  async statuses(instanceIds: readonly string[]): Promise<Map<string, Omit<AgentCheckIn, 'assignment'>>> {
    const ids = [...new Set(instanceIds)];
    const items = await this.table.batchGet(ids.flatMap((id) => [keys.agentPresence(id), keys.agentConnection(id)]));
    const result = new Map<string, Omit<AgentCheckIn, 'assignment'>>();
    for (const id of ids) {
      const of = (key: { PK: string; SK: string }) => items.find((i) => i.PK === key.PK && i.SK === key.SK);
      result.set(id, { presence: presenceOf(of(keys.agentPresence(id))), connection: connectionOf(of(keys.agentConnection(id))) });
    }
    return result;
  }
}
