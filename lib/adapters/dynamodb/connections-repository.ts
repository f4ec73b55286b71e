import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS } from '../../domain/agent-channel.js';
import type { AgentConnection, AgentConnectionsRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import type { TableClient } from './table-client.js';


/** Two small items per connection: by instance (the push looks it up) and by connection ID ($disconnect does). */
export class DynamoAgentConnectionsRepository implements AgentConnectionsRepository {
  constructor(private readonly table: TableClient) {}

  async put(connection: AgentConnection): Promise<void> {
    const expiresAt = Math.floor(Date.parse(connection.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
    await this.table.transactWrite({
      TransactItems: [
        { Put: { TableName: this.table.tableName, Item: { ...keys.connection(connection.connectionId), type: 'Connection', instanceId: connection.instanceId, expiresAt } } },
        { Put: { TableName: this.table.tableName, Item: { ...keys.agentConnection(connection.instanceId), type: 'AgentConnection', ...connection, expiresAt } } },
      ],
    });
  }

  async remove(connectionId: string, instanceId?: string): Promise<void> {
    const owner = instanceId ?? (await this.table.get(keys.connection(connectionId)))?.instanceId;
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.tableName, Key: keys.connection(connectionId) }));
    if (typeof owner !== 'string') return;
    try {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: keys.agentConnection(owner),
          ConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // a newer connection (or none) is recorded: keep it
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
