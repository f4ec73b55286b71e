import { DeleteCommand, type NativeAttributeValue, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessRule } from '../../domain/access.js';
import { NotFoundError } from '../../errors.js';
import type { AccessRulesRepository } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { keys } from './keys.js';
import { type TableClient, withoutKeys } from './table-client.js';

type Item = Record<string, NativeAttributeValue>;

export class DynamoAccessRulesRepository implements AccessRulesRepository {
  constructor(private readonly table: TableClient) {}

  async put(rule: AccessRule): Promise<boolean> {
    const existed = await this.get(rule.id);
    await this.table.doc.send(new PutCommand({ TableName: this.table.tableName, Item: { ...keys.accessRule(rule.id), type: 'AccessRule', ...rule } }));
    return !existed;
  }

  async get(id: string): Promise<AccessRule | undefined> {
    const item = await this.table.get(keys.accessRule(id));
    return item && withoutKeys<AccessRule>(item);
  }

  async list(): Promise<AccessRule[]> {
    const rules: AccessRule[] = [];
    const { PK } = keys.accessRule('');
    await this.table.queryEach({ KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK }, ConsistentRead: true }, (page) => {
      rules.push(...(page.Items ?? []).map((i: Item) => withoutKeys<AccessRule>(i)));
    });
    return rules;
  }

  async delete(id: string): Promise<void> {
    try {
      await this.table.doc.send(
        new DeleteCommand({ TableName: this.table.tableName, Key: keys.accessRule(id), ConditionExpression: 'attribute_exists(PK)' }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new NotFoundError(`Access rule "${id}" does not exist`);
      throw error;
    }
  }
}
