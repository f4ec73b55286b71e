import { DeleteCommand, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import type { Pipeline } from '../../domain/pipeline.js';
import type { Page, PageRequest, PipelinesRepository, Upserted } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys, listingPartitions } from './keys.js';
import type { TableClient } from './table-client.js';
import { notFound } from '../../domain/not-found.js';

type Item = Record<string, NativeAttributeValue>;

function toPipeline(item: Item): Pipeline {
  return {
    name: item.name,
    source: item.source,
    executionMode: item.executionMode,
    stages: item.stages,
    author: item.author,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

export class DynamoPipelinesRepository implements PipelinesRepository {
  constructor(private readonly table: TableClient) {}

  async put(pipeline: Omit<Pipeline, 'createdAt' | 'updatedAt'>, now: string): Promise<Upserted<Pipeline>> {
    const { name, source, executionMode, stages, author } = pipeline;
    const { created, item } = await this.table.upsert(
      keys.pipeline(name),
      {
        ...keys.pipelineListing(name),
        ...keys.pipelineSource(source.bucket, name),
        type: 'Pipeline',
        name,
        source,
        executionMode,
        stages,
        author,
        createdAt: now,
        updatedAt: now,
      },
      { ...keys.pipelineSource(source.bucket, name), source, executionMode, stages, author, updatedAt: now },
    );
    return { created, value: toPipeline(item) };
  }

  async get(name: string): Promise<Pipeline | undefined> {
    const item = await this.table.get(keys.pipeline(name));
    return item && toPipeline(item);
  }

  list(page: PageRequest<Pipeline>): Promise<Page<Pipeline>> {
    return this.table.listingPage(listingPartitions.pipelines, page, { values: (items) => items.map(toPipeline) });
  }

  async bySourceBucket(bucket: string): Promise<Pipeline[]> {
    const names: string[] = [];
    await this.table.queryEach(
      { IndexName: 'GSI2', KeyConditionExpression: 'GSI2PK = :p', ExpressionAttributeValues: { ':p': `SOURCE#${bucket}` } },
      (page) => {
        for (const item of page.Items ?? []) names.push(String(item.GSI2SK));
      },
    );
    const pipelines = await Promise.all(names.map((n) => this.get(n)));
    return pipelines.filter((p): p is Pipeline => p !== undefined && p.source.bucket === bucket);
  }

  async delete(name: string): Promise<void> {
    try {
      await this.table.doc.send(
        new DeleteCommand({ TableName: this.table.tableName, Key: keys.pipeline(name), ConditionExpression: 'attribute_exists(PK)' }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw notFound.pipeline(name);
      throw error;
    }
  }
}
