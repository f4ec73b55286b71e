import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import workerStreamFilter from '../build/worker-stream-filter.cjs';
import { passesFilter } from './stream-filter.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamPollerOptions {
  /** The table's own client (its endpoint, region and credentials are used for the stream). */
  client: DynamoDBClient;
  tableName: string;
  handler: StreamHandler;
  /** Shards open at start: from their oldest record, or only what comes next. New shards always from their start. */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  batchSize?: number;
  /** Attempts per record before it is given up (the deployed stream's maximumRetryAttempts). */
  maximumRetryAttempts?: number;
  /** Where a record goes when its retries are spent (the deployed stream's on-failure destination). */
  onGiveUp?: (record: DynamoDBRecord, error: unknown) => void;
  idleMs?: number;
}

export interface StreamPoller {
  /**
   * Resolves once a full pass over every shard, begun after this call, found
   * no record: everything written before the call has been handled, and so
   * has everything the handler wrote in turn.
   */
  settle(timeoutMs?: number): Promise<void>;
  /** Records given up after their retries, for tests to assert on. */
  readonly givenUp: DynamoDBRecord[];
  stop(): Promise<void>;
}

interface Shard {
  id: string;
  iterator: string | undefined;
  closed: boolean;
}

/**
 * What Lambda's event source mapping does for the deployed worker, over
 * DynamoDB Local's stream: DescribeStream → GetShardIterator → GetRecords, new
 * shards followed, each shard in order, batches handed to the same handler in
 * the same event shape, partial batch failures retried from the failed record,
 * a whole failed batch bisected, a record given up after its retries, and
 * the deployed mapping's filter applied (build/worker-stream-filter.cjs: a
 * record no pattern matches never reaches the handler).
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const table = await options.client.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${options.tableName} has no stream; it must be created with a StreamSpecification`);
  const streams = new DynamoDBStreamsClient({
    endpoint: options.client.config.endpoint,
    region: options.client.config.region,
    credentials: options.client.config.credentials,
  });
  const batchSize = options.batchSize ?? 100;
  const maxAttempts = (options.maximumRetryAttempts ?? 8) + 1;
  const idleMs = options.idleMs ?? 50;
  const busyPauseMs = 10;
  const shards = new Map<string, Shard>();
  const givenUp: DynamoDBRecord[] = [];
  const waiters: { after: number; resolve: () => void }[] = [];
  let pass = 0;
  let running = true;
  let wake: (() => void) | undefined;

  const iterator = async (shardId: string, type: 'TRIM_HORIZON' | 'LATEST') =>
    (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type }))).ShardIterator;

  const refreshShards = async (firstTime: boolean) => {
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || shards.has(shard.ShardId)) continue;
        const type = firstTime ? (options.startingPosition ?? 'TRIM_HORIZON') : 'TRIM_HORIZON';
        shards.set(shard.ShardId, { id: shard.ShardId, iterator: await iterator(shard.ShardId, type), closed: false });
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  };

  const handle = async (records: DynamoDBRecord[]): Promise<void> => {
    let remaining = records;
    for (let attempt = 1; remaining.length > 0; attempt++) {
      let failedAt: number;
      let cause: unknown;
      try {
        const result = await options.handler({ Records: remaining });
        const failed = result?.batchItemFailures?.[0]?.itemIdentifier;
        if (failed === undefined) return;
        failedAt = Math.max(0, remaining.findIndex((r) => r.dynamodb?.SequenceNumber === failed));
        cause = new Error(`the handler reported record ${failed} as failed`);
      } catch (error) {
        if (remaining.length > 1) {
          // Bisect on error: each half is retried on its own.
          const half = Math.ceil(remaining.length / 2);
          await handle(remaining.slice(0, half));
          await handle(remaining.slice(half));
          return;
        }
        failedAt = 0;
        cause = error;
      }
      remaining = remaining.slice(failedAt);
      if (attempt >= maxAttempts) {
        const [record, ...rest] = remaining as [DynamoDBRecord, ...DynamoDBRecord[]];
        givenUp.push(record);
        options.onGiveUp?.(record, cause);
        remaining = rest;
        attempt = 0;
        continue;
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
    }
  };

  let refreshedAt = 0;
  const onePass = async (): Promise<number> => {
    // Shards roll over rarely (hours); looking for new ones once a second is plenty.
    if (Date.now() - refreshedAt >= 1000) {
      await refreshShards(false);
      refreshedAt = Date.now();
    }
    let seen = 0;
    for (const shard of shards.values()) {
      if (shard.closed || !shard.iterator) continue;
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }));
      shard.iterator = out.NextShardIterator;
      if (!out.NextShardIterator) shard.closed = true;
      const all = (out.Records ?? []).map(toLambdaRecord(streamArn));
      seen += all.length;
      const records = all.filter((r) => passesFilter(workerStreamFilter.patterns, r));
      if (records.length > 0) await handle(records);
    }
    return seen;
  };

  await refreshShards(true);
  const loop = (async () => {
    while (running) {
      const number = ++pass;
      let seen = 1;
      try {
        seen = await onePass();
      } catch (error) {
        if (!running) break;
        options.onGiveUp?.({}, error);
      }
      if (seen === 0) {
        for (const waiter of waiters.splice(0)) {
          if (waiter.after < number) waiter.resolve();
          else waiters.push(waiter);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, idleMs);
        });
        wake = undefined;
      } else {
        // Let writers in between passes rather than polling DynamoDB Local flat out.
        await new Promise((resolve) => setTimeout(resolve, busyPauseMs));
      }
    }
  })();

  return {
    givenUp,
    settle(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`The table's stream did not settle within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          after: pass,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        wake?.();
      });
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      streams.destroy();
    },
  };
}

/** A DynamoDB Streams record in the shape Lambda hands a function. */
function toLambdaRecord(streamArn: string) {
  return (record: StreamsRecord): DynamoDBRecord => {
    const { ApproximateCreationDateTime, ...rest } = record.dynamodb ?? {};
    return {
      eventID: record.eventID,
      eventName: record.eventName as DynamoDBRecord['eventName'],
      eventVersion: record.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: record.awsRegion,
      eventSourceARN: streamArn,
      dynamodb: {
        ...(rest as NonNullable<DynamoDBRecord['dynamodb']>),
        ...(ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(ApproximateCreationDateTime.getTime() / 1000) } : {}),
      },
    };
  };
}
