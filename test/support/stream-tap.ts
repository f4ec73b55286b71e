import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamHandler } from '../../local/stream-poller.js';

import type { Change } from '../fakes/store.js';

type Image = Record<string, any>;

/**
 * A stream record as the lab's domain-shaped change (the fakes' change log has
 * the same shape): group locks by `<application>/<group>`, stage slots by
 * `<pipeline>/<stage>`, executions and deployments by ID; any other item by
 * its type and key.
 */
function changeOf(pk: string, sk: string, old: Image | undefined, now: Image | undefined): Change {
  const [kind, name] = [pk.split('#')[0], pk.slice(pk.indexOf('#') + 1)];
  if (kind === 'APP' && sk.startsWith('GROUP#')) return { type: 'DeploymentGroup', id: `${name}/${sk.slice('GROUP#'.length)}`, old, new: now };
  if (kind === 'PIPELINE' && sk.startsWith('STAGE#')) return { type: 'StageSlot', id: `${name}/${Number(sk.slice('STAGE#'.length))}`, old, new: now };
  if (kind === 'EXECUTION' && sk === 'EXECUTION') return { type: 'Execution', id: name, old, new: now };
  if (kind === 'DEPLOYMENT' && sk === 'DEPLOYMENT') return { type: 'Deployment', id: name, old, new: now };
  if (kind === 'AGENT' && sk === 'PRESENCE') return { type: 'AgentPresence', id: name, old, new: now };
  return { type: String(now?.type ?? old?.type ?? 'Item'), id: `${pk} ${sk}`, old, new: now };
}

/**
 * A table's stream read by hand, for tests that must decide exactly when the
 * worker runs (between two crashes, say): `deliver` hands everything not yet
 * handled to a handler, one batch at a time, keeping a failed record and what
 * follows it for the next delivery, as Lambda's event source mapping does.
 * Every record ever read is kept in `changes`.
 */
export class StreamTap {
  readonly changes: Change[] = [];
  private backlog: DynamoDBRecord[] = [];
  private readonly iterators = new Map<string, string | undefined>();

  private constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly streamArn: string,
  ) {}

  static async open(client: DynamoDBClient, tableName: string): Promise<StreamTap> {
    const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`Table ${tableName} has no stream`);
    const streams = new DynamoDBStreamsClient({ endpoint: client.config.endpoint, region: client.config.region, credentials: client.config.credentials });
    return new StreamTap(streams, streamArn);
  }

  /**
   * Reads whatever was written since the last read into the backlog. The
   * stream is described again only while no shard is known or once a known
   * one has closed: a stream's new shard begins only where an old one ends,
   * so while every known shard is open there is none to find (the lab reads
   * its stream some thirty times a run).
   */
  private async read(): Promise<void> {
    if (this.iterators.size === 0 || [...this.iterators.values()].includes(undefined)) await this.discoverShards();
    await this.readShards();
  }

  private async discoverShards(): Promise<void> {
    const out = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || this.iterators.has(shard.ShardId)) continue;
      const it = await this.streams.send(
        new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      this.iterators.set(shard.ShardId, it.ShardIterator);
    }
  }

  private async readShards(): Promise<void> {
    for (const [shardId, iterator] of this.iterators) {
      let next = iterator;
      while (next) {
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: next, Limit: 1000 }));
        const records = page.Records ?? [];
        for (const record of records) {
          const lambdaRecord = { eventName: record.eventName, eventSource: 'aws:dynamodb', dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: undefined } } as DynamoDBRecord;
          this.backlog.push(lambdaRecord);
          const keys = unmarshall((record.dynamodb?.Keys ?? {}) as never) as { PK: string; SK: string };
          this.changes.push(
            changeOf(
              keys.PK,
              keys.SK,
              record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage as never) : undefined,
              record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as never) : undefined,
            ),
          );
        }
        next = page.NextShardIterator;
        if (records.length === 0) break;
      }
      this.iterators.set(shardId, next);
    }
  }

  /**
   * Hands every unhandled record to `handler` until none is left: 'settled', or
   * 'failed' as soon as the handler reports a failure (the failed record and
   * the ones after it wait for the next delivery).
   */
  async deliver(handler: StreamHandler, batchSize = 100): Promise<{ outcome: 'settled' | 'failed'; handled: number }> {
    let handled = 0;
    for (;;) {
      await this.read();
      if (this.backlog.length === 0) return { outcome: 'settled', handled };
      const batch = this.backlog.slice(0, batchSize);
      const result = await handler({ Records: batch });
      const failed = result?.batchItemFailures?.[0]?.itemIdentifier;
      if (failed !== undefined) {
        const at = Math.max(0, batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed));
        this.backlog.splice(0, at);
        handled += at;
        return { outcome: 'failed', handled };
      }
      this.backlog.splice(0, batch.length);
      handled += batch.length;
    }
  }

  close(): void {
    this.streams.destroy();
  }
}
