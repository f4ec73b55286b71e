import { BatchGetCommand, DeleteCommand, GetCommand, type NativeAttributeValue, PutCommand } from '@aws-sdk/lib-dynamodb';
import { lapsed } from '../../domain/agent-presence.js';
import { CONNECTION_TTL_SECONDS, EARLIER_CONNECTIONS_PRUNED_ABOVE, MAX_EARLIER_CONNECTIONS } from '../../domain/agent-channel.js';
import type { AgentConnection, AgentConnectionsRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import type { TableClient } from './table-client.js';

type Item = Record<string, NativeAttributeValue>;
const RECORD_ATTEMPTS = 5;

const expired = (item: Item | undefined) => typeof item?.expiresAt === 'number' && lapsed(item.expiresAt, new Date());
const earlierOf = (item: Item | undefined): string[] =>
  Array.isArray(item?.earlier) ? item.earlier.filter((id: unknown): id is string => typeof id === 'string') : [];

/**
 * Two small items per connection: by instance (the push looks it up) and by
 * connection ID ($disconnect does, and it says whether a connection is still
 * open). The newest connection of an instance gets the pushes; the record by
 * instance also lists the connections it replaced (`earlier`, newest first),
 * so that when it closes first the newest of them still open takes over.
 */
export class DynamoAgentConnectionsRepository implements AgentConnectionsRepository {
  constructor(private readonly table: TableClient) {}

  /**
   * Plain writes, not a transaction (which bills each item twice): the record
   * by connection ID first, so the record by instance only ever names a
   * connection whose $disconnect can find it. Should the second write fail,
   * $connect fails and API Gateway refuses the connection; the first record,
   * naming a connection that never opened, expires by TTL, and the instance's
   * previous record is untouched. The record by instance is read first (an
   * eventually consistent read, a tenth of a write's price) to carry the
   * connection it replaces into `earlier`, and written only if it still names
   * that one, so two connections opening together both stay known.
   */
  async put(connection: AgentConnection): Promise<void> {
    const expiresAt = Math.floor(Date.parse(connection.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
    const { tableName } = this.table;
    await this.table.doc.send(
      new PutCommand({ TableName: tableName, Item: { ...keys.connection(connection.connectionId), type: 'Connection', ...connection, expiresAt } }),
    );
    const key = keys.agentConnection(connection.instanceId);
    for (let attempt = 1; ; attempt++) {
      const { Item: current } = await this.table.doc.send(
        new GetCommand({ TableName: tableName, Key: key, ConsistentRead: attempt > 1, ProjectionExpression: 'connectionId, earlier, expiresAt' }),
      );
      const replaced = current && !expired(current) && typeof current.connectionId === 'string' ? [current.connectionId, ...earlierOf(current)] : [];
      const earlier = await this.stillOpenIfLong(replaced.filter((id) => id !== connection.connectionId));
      try {
        await this.table.doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...key, type: 'AgentConnection', ...connection, expiresAt, ...(earlier.length > 0 ? { earlier } : {}) },
            ...(typeof current?.connectionId === 'string'
              ? { ConditionExpression: 'connectionId = :seen', ExpressionAttributeValues: { ':seen': current.connectionId } }
              : { ConditionExpression: 'attribute_not_exists(connectionId)' }),
          }),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error) || attempt >= RECORD_ATTEMPTS) throw error; // another $connect or $disconnect came between: read again
      }
    }
  }

  /**
   * The record by connection ID is deleted first; the instance it named comes
   * back with it. The instance's record is then read strongly consistently (1
   * read unit): after a renewal it names the newer connection, and nothing
   * more is done, no write attempted (a refused conditional write is billed
   * too, five times the price of the read). Only when it names this
   * connection does the newest still-open earlier connection take its place,
   * or, with none, the record go; both writes are conditional on it still
   * naming this connection, so a $connect racing it wins.
   */
  async remove(connectionId: string, instanceId?: string): Promise<void> {
    const { tableName } = this.table;
    const removed = await this.table.doc.send(
      new DeleteCommand({ TableName: tableName, Key: keys.connection(connectionId), ReturnValues: instanceId ? 'NONE' : 'ALL_OLD' }),
    );
    const owner = instanceId ?? removed.Attributes?.instanceId;
    if (typeof owner !== 'string') return;
    const key = keys.agentConnection(owner);
    const { Item: current } = await this.table.doc.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true, ProjectionExpression: 'connectionId, earlier' }),
    );
    if (current?.connectionId !== connectionId) return;
    const condition = { ConditionExpression: 'connectionId = :c', ExpressionAttributeValues: { ':c': connectionId } };
    try {
      const open = await this.openConnections(earlierOf(current).filter((id) => id !== connectionId));
      const [successor, ...rest] = open;
      if (successor) {
        const earlier = rest.map((c) => c.connectionId as string);
        await this.table.doc.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key,
              type: 'AgentConnection',
              instanceId: owner,
              connectionId: successor.connectionId,
              endpoint: successor.endpoint,
              principal: successor.principal,
              connectedAt: successor.connectedAt,
              expiresAt: successor.expiresAt,
              ...(earlier.length > 0 ? { earlier } : {}),
            },
            ...condition,
          }),
        );
      } else {
        await this.table.doc.send(new DeleteCommand({ TableName: tableName, Key: key, ...condition }));
      }
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // a newer connection was recorded meanwhile: keep it
    }
  }

  /**
   * The connections of `ids` whose records by connection ID are still there
   * and unexpired (closed ones lost theirs at $disconnect), in the order of
   * `ids`. Records written before the records by connection ID carried the
   * endpoint cannot take over and count as closed.
   */
  private async openConnections(ids: readonly string[]): Promise<Item[]> {
    if (ids.length === 0) return [];
    const out = await this.table.doc.send(
      new BatchGetCommand({ RequestItems: { [this.table.tableName]: { Keys: ids.map((id) => keys.connection(id)), ConsistentRead: true } } }),
    );
    // Unprocessed keys (throttling) count as closed: the worst is a connection that gets no pushes and polls hourly.
    const found = new Map((out.Responses?.[this.table.tableName] ?? []).filter((item) => !expired(item) && typeof item.endpoint === 'string').map((item) => [item.PK, item]));
    return ids.flatMap((id) => found.get(keys.connection(id).PK) ?? []);
  }

  /** Keeps `earlier` short: past a few entries (after that many renewals they are all closed), only the open ones stay. */
  private async stillOpenIfLong(earlier: string[]): Promise<string[]> {
    if (earlier.length <= EARLIER_CONNECTIONS_PRUNED_ABOVE) return earlier;
    // Strongly consistent: a connection recorded moments ago must not be taken for closed.
    const open = await this.openConnections(earlier.slice(0, MAX_EARLIER_CONNECTIONS));
    return open.map((item) => item.connectionId as string);
  }

  async find(instanceIds: readonly string[]): Promise<AgentConnection[]> {
    const items = await this.table.batchGet([...new Set(instanceIds)].map((id) => keys.agentConnection(id)));
    // TTL deletion lags by up to days: an expired record is no connection.
    return items
      .filter((item) => !expired(item))
      .map((item) => ({
        instanceId: item.instanceId,
        connectionId: item.connectionId,
        endpoint: item.endpoint,
        principal: item.principal,
        connectedAt: item.connectedAt,
      }));
  }
}
