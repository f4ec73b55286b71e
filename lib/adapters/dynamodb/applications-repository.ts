import { DeleteCommand, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import type { Application } from '../../domain/application.js';
import type { RevisionSource } from '../../domain/artifact-location.js';
import { ConflictError } from '../../errors.js';
import type { ApplicationsRepository, Page, PageRequest, Upserted } from '../../ports.js';
import { isConditionalCheckFailed, itemOnConditionFailure } from './conditions.js';
import { keys, listingPartitions } from './keys.js';
import type { TableClient } from './table-client.js';
import { notFound } from '../../domain/not-found.js';

type Item = Record<string, NativeAttributeValue>;

function toApplication(item: Item): Application {
  return {
    name: item.name,
    description: item.description ?? '',
    revisionSources: item.revisionSources,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

export class DynamoApplicationsRepository implements ApplicationsRepository {
  constructor(private readonly table: TableClient) {}

  async put(name: string, settings: { description: string; revisionSources: RevisionSource[] }, now: string): Promise<Upserted<Application>> {
    const { description, revisionSources } = settings;
    const { created, item } = await this.table.upsert(
      keys.application(name),
      {
        ...keys.applicationListing(name),
        type: 'Application',
        name,
        description,
        revisionSources,
        groupCount: 0,
        createdAt: now,
        updatedAt: now,
      },
      { description, revisionSources, updatedAt: now },
    );
    return { created, value: toApplication(item) };
  }

  async get(name: string): Promise<Application | undefined> {
    const item = await this.table.get(keys.application(name));
    return item && toApplication(item);
  }

  list(page: PageRequest<Application>): Promise<Page<Application>> {
    return this.table.listingPage(listingPartitions.applications, page, { values: (items) => items.map(toApplication) });
  }

  async delete(name: string): Promise<void> {
    try {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: keys.application(name),
          ConditionExpression: 'attribute_exists(PK) AND groupCount = :zero',
          ExpressionAttributeValues: { ':zero': 0 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = itemOnConditionFailure(error);
      if (!existing) throw notFound.application(name);
      throw new ConflictError(
        `Application "${name}" still has ${String(existing.groupCount)} deployment group(s); delete them first`,
      );
    }
  }
}
