import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS } from '../../domain/agent-channel.js';
import type { AgentConnection, AgentConnectionsRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import type { TableClient } from './table-client.js';

/** Two small items per connection: by instance (the push looks it up) and by connection ID ($disconnect does). */
export class DynamoAgentConnectionsRepository implements AgentConnectionsRepository {
  constructor(private readonly table: TableClient) {}

  /**
   * Two plain writes, not a transaction (which bills each item twice): the
   * record by connection ID first, so the record by instance only ever names a
   * connection whose $disconnect can find it. Should the second write fail,
   * $connect fails and API Gateway refuses the connection; the first record,
   * naming a connection that never opened, expires by TTL, and the instance's
   * previous record is untouched.
   */
  async put(connection: AgentConnection): Promise<void> {
    const expiresAt = Math.floor(Date.parse(connection.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
    const { tableName } = this.table;
    await this.table.doc.send(
      new PutCommand({ TableName: tableName, Item: { ...keys.connection(connection.connectionId), type: 'Connection', instanceId: connection.instanceId, expiresAt } }),
    );
    await this.table.doc.send(
      new PutCommand({ TableName: tableName, Item: { ...keys.agentConnection(connection.instanceId), type: 'AgentConnection', ...connection, expiresAt } }),
    );
  }

  /**
   * The record by connection ID is deleted first; the instance it named comes
   * back with it. The record by instance is deleted only if it still names
   * this connection: after a renewal it names the newer one, which a strongly
   * consistent read (1 read unit) tells more cheaply than a refused
   * conditional delete (billed 1 write unit, five times the price). The delete
   * stays conditional for a renewal racing it.
   */
  async remove(connectionId: string, instanceId?: string): Promise<void> {
    const { tableName } = this.table;
    const removed = await this.table.doc.send(
      new DeleteCommand({ TableName: tableName, Key: keys.connection(connectionId), ReturnValues: instanceId ? 'NONE' : 'ALL_OLD' }),
    );
    const owner = instanceId ?? removed.Attributes?.instanceId;
    if (typeof owner !== 'string') return;
    const current = await this.table.doc.send(
      new GetCommand({ TableName: tableName, Key: keys.agentConnection(owner), ConsistentRead: true, ProjectionExpression: 'connectionId' }),
    );
    if (current.Item?.connectionId !== connectionId) return;
    try {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: tableName,
          Key: keys.agentConnection(owner),
          ConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // a newer connection was recorded meanwhile: keep it
    }
  }

  async find(instanceIds: readonly string[]): Promise<AgentConnection[]> {
    const now = Math.floor(Date.now() / 1000);
    const items = await this.table.batchGet([...new Set(instanceIds)].map((id) => keys.agentConnection(id)));
    // TTL deletion lags by up to days: an expired record is no connection.
    return items
      .filter((item) => !(typeof item.expiresAt === 'number' && item.expiresAt < now))
      .map((item) => ({
        instanceId: item.instanceId,
        connectionId: item.connectionId,
        endpoint: item.endpoint,
        principal: item.principal,
        connectedAt: item.connectedAt,
      }));
  }
}
