import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LIVE_LOG, type LiveChunk } from '../../domain/live-log.js';
import type { LiveLogRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import type { TableClient } from './table-client.js';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * Live logs beside their deployment's instance items: the follower lease
 * (`LIVEFOLLOW#<instanceId>`, type LiveLogFollow, which the worker's stream
 * filter lets through so it can push `follow`) and the chunks
 * (`LIVELOG#<instanceId>#<seq>`). Both expire by TTL: the lease with itself,
 * chunks an hour after they are written.
 */
export class DynamoLiveLogRepository implements LiveLogRepository {
  constructor(private readonly table: TableClient) {}

  async followUntil(deploymentId: string, instanceId: string): Promise<string | undefined> {
    const out = await this.table.doc.send(new GetCommand({ TableName: this.table.tableName, Key: keys.liveFollow(deploymentId, instanceId), ConsistentRead: true }));
    return typeof out.Item?.until === 'string' ? out.Item.until : undefined;
  }

  async follow(deploymentId: string, instanceId: string, until: string): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...keys.liveFollow(deploymentId, instanceId), type: 'LiveLogFollow', deploymentId, instanceId, until, expiresAt: seconds(until) },
      }),
    );
  }

  async append(deploymentId: string, instanceId: string, chunk: LiveChunk): Promise<void> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { ...keys.liveChunk(deploymentId, instanceId, chunk.seq), type: 'LiveLogChunk', ...chunk, expiresAt: seconds(chunk.at) + LIVE_LOG.chunkTtlSeconds },
          // A repeat (the agent retried after a lost answer) keeps what was first written.
          ConditionExpression: 'attribute_not_exists(SK)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async after(deploymentId: string, instanceId: string, cursor: number, limit: number): Promise<{ chunks: LiveChunk[]; more: boolean }> {
    const from = keys.liveChunk(deploymentId, instanceId, cursor + 1);
    const to = keys.liveChunk(deploymentId, instanceId, LIVE_LOG.maxChunks);
    const out = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': from.PK, ':from': from.SK, ':to': to.SK },
        ConsistentRead: true,
        Limit: limit + 1,
      }),
    );
    const items = out.Items ?? [];
    const chunks = items.slice(0, limit).map((item) => ({ seq: Number(item.seq), text: String(item.text), at: String(item.at) }));
    return { chunks, more: items.length > limit };
  }
}
