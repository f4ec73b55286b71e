import { DeleteCommand, type NativeAttributeValue, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { InstanceChanges, RegisteredInstance } from '../../domain/instance.js';
import type { Tag } from '../../domain/tags.js';
import type { InstancesRepository, Page, PageRequest, Upserted } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys, listingPartitions } from './keys.js';
import type { TableClient } from './table-client.js';
import { notFound } from '../../domain/not-found.js';

type Item = Record<string, NativeAttributeValue>;

function toInstance(item: Item): RegisteredInstance {
  return {
    instanceId: item.instanceId,
    tags: item.tags ?? [],
    iamArn: item.iamArn ?? null,
    ...(item.requestedTags ? { requestedTags: item.requestedTags } : {}),
    registeredAt: item.registeredAt,
    updatedAt: item.updatedAt,
  };
}

export class DynamoInstancesRepository implements InstancesRepository {
  constructor(private readonly table: TableClient) {}

  async put(instanceId: string, changes: InstanceChanges, now: string): Promise<Upserted<RegisteredInstance>> {
    const given: Item = {};
    if (changes.tags !== undefined) {
      given.tags = changes.tags;
      // Tags an administrator sets settle whatever the agent asked for.
      given.requestedTags = null;
    }
    if (changes.iamArn !== undefined) given.iamArn = changes.iamArn;
    const { created, item } = await this.table.upsert(
      keys.instance(instanceId),
      { ...keys.instanceListing(instanceId), type: 'Instance', instanceId, tags: [], iamArn: null, ...given, registeredAt: now, updatedAt: now },
      { ...given, updatedAt: now },
    );
    return { created, value: toInstance(item) };
  }

  async registerNew(instanceId: string, iamArn: string, requestedTags: Tag[], now: string): Promise<Upserted<RegisteredInstance>> {
    const item: Item = {
      ...keys.instance(instanceId),
      ...keys.instanceListing(instanceId),
      type: 'Instance',
      instanceId,
      tags: [],
      iamArn,
      requestedTags,
      registeredAt: now,
      updatedAt: now,
    };
    try {
      await this.table.doc.send(new PutCommand({ TableName: this.table.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' }));
      return { created: true, value: toInstance(item) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const existing = await this.get(instanceId);
    if (!existing) throw new Error(`Instance ${instanceId} was deleted while being registered`);
    return { created: false, value: existing };
  }

  async get(instanceId: string): Promise<RegisteredInstance | undefined> {
    const item = await this.table.get(keys.instance(instanceId));
    return item && toInstance(item);
  }

  async getMany(instanceIds: readonly string[]): Promise<RegisteredInstance[]> {
    return (await this.table.batchGet(instanceIds.map((id) => keys.instance(id)))).map(toInstance);
  }

  list(page: PageRequest<RegisteredInstance>): Promise<Page<RegisteredInstance>> {
    return this.table.listingPage(listingPartitions.instances, page, { values: (items) => items.map(toInstance) });
  }

  async listAll(): Promise<RegisteredInstance[]> {
    const all: RegisteredInstance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.list({ limit: 1000, nextToken });
      all.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  async delete(instanceId: string): Promise<void> {
    try {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: keys.instance(instanceId),
          ConditionExpression: 'attribute_exists(PK)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw notFound.instance(instanceId);
      throw error;
    }
  }
}
