import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Page, PageRequest } from '../../ports.js';
import { cancellationReasons, isConditionalCheckFailed, isTransactionConflict } from './conditions.js';
import { KEY_ATTRIBUTES, type TableKey } from './keys.js';
import { decodeNextToken, encodeNextToken } from './pagination.js';

type Item = Record<string, NativeAttributeValue>;
const BATCH_GET_LIMIT = 100;

/** The few table operations the repositories share. */
export class TableClient {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(key: TableKey, consistent = false): Promise<Item | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ...(consistent ? { ConsistentRead: true } : {}) }));
    return out.Item;
  }

  /**
   * Creates the item, or when it exists applies `changes` to it. Both are
   * conditional writes, so a concurrent delete or create is never overwritten blindly.
   */
  async upsert(key: TableKey, item: Item, changes: Item): Promise<{ created: boolean; item: Item }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, ...item },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        );
        return { created: true, item: { ...key, ...item } };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const updated = await this.updateIfExists(key, changes);
      if (updated) return { created: false, item: updated };
    }
    throw new Error(`Item ${key.PK}/${key.SK} kept changing while being written`);
  }

  /** SET every attribute of `changes` when the item exists; undefined when it does not. */
  async updateIfExists(key: TableKey, changes: Item): Promise<Item | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, NativeAttributeValue> = {};
    const sets = Object.entries(changes).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:v${i}`] = value;
      return `#a${i} = :v${i}`;
    });
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /** Runs a query to its last page, handing each page's output to `onPage`. */
  async queryEach(
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
    onPage: (out: { Items?: Item[]; Count?: number }) => Promise<void> | void,
  ): Promise<void> {
    let start: Item | undefined;
    do {
      const out = await this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: start }));
      await onPage(out);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /**
   * TransactWriteItems, retried with jittered backoff while DynamoDB cancels it
   * only for a conflict with another transaction on the same items (the
   * deployment's counters see many at once). A failed condition is final.
   */
  async transactWrite(input: TransactWriteCommandInput): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.doc.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        const reasons = cancellationReasons(error);
        const conflictOnly = reasons?.includes('TransactionConflict') && !reasons.includes('ConditionalCheckFailed');
        const busy = isTransactionConflict(error);
        if ((!conflictOnly && !busy) || attempt >= 8) throw error;
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  /**
   * The items for these keys (at most 100 per call, unprocessed keys retried with
   * backoff), in no particular order; missing items are simply absent.
   */
  async batchGet(itemKeys: readonly TableKey[]): Promise<Item[]> {
    const found: Item[] = [];
    for (let i = 0; i < itemKeys.length; i += BATCH_GET_LIMIT) {
      let pending: Item[] = itemKeys.slice(i, i + BATCH_GET_LIMIT) as Item[];
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= 6) throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after ${attempt} attempts`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random())));
        const out = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } }),
        );
        found.push(...(out.Responses?.[this.tableName] ?? []));
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  /** One page of a GSI1 listing partition (all applications, all instances, …). */
  listingPage<T>(partition: string, page: PageRequest<NoInfer<T>>, view: PageView<T>): Promise<Page<T>> {
    return this.queryPage(
      { IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :p', ExpressionAttributeValues: { ':p': partition } },
      page,
      { attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'], partition: { attribute: 'GSI1PK', value: partition } },
      view,
    );
  }

  /**
   * One page of a query, holding only what the caller may see (`page.visible`)
   * and the view keeps; the token can only resume this same query (same partition).
   *
   * The next token is the key of the last item the caller may see, never
   * DynamoDB's last evaluated key: that may be an item a Deny hides. So a page
   * reads on past hidden items until it is full or the listing ends; once a
   * visible item can anchor the next page, it may end short after READ_AHEAD
   * pages' worth of items (a view that drops items, such as a status filter).
   */
  async queryPage<T>(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    page: PageRequest<NoInfer<T>>,
    tokenShape: { attributes: readonly string[]; partition: { attribute: string; value: string } },
    view: PageView<T>,
  ): Promise<Page<T>> {
    const tokenOf = (item: Item) => encodeNextToken(Object.fromEntries(tokenShape.attributes.map((a) => [a, item[a]])));
    const shown: T[] = [];
    let start = decodeNextToken(page.nextToken, tokenShape.attributes, tokenShape.partition);
    let anchor: Item | undefined;
    let read = 0;
    for (;;) {
      const out = await this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, Limit: page.limit, ExclusiveStartKey: start }));
      const items = out.Items ?? [];
      const values = await view.values(items);
      for (const [i, item] of items.entries()) {
        const value = values[i];
        if (value === undefined || (page.visible && !page.visible(value))) continue;
        anchor = item;
        if (view.keep && !view.keep(value)) continue;
        shown.push(value);
        if (shown.length === page.limit) {
          const more = i < items.length - 1 || out.LastEvaluatedKey !== undefined;
          return { items: shown, nextToken: more ? tokenOf(item) : undefined };
        }
      }
      if (!out.LastEvaluatedKey) return { items: shown };
      read += items.length;
      if (anchor && read >= READ_AHEAD * page.limit) return { items: shown, nextToken: tokenOf(anchor) };
      start = out.LastEvaluatedKey;
    }
  }
}

/** How a repository turns a page of items into what it lists. */
export interface PageView<T> {
  /** The listed objects, in the items' order (undefined: the item is gone, e.g. a listing entry whose deployment is not found). */
  values(items: Item[]): readonly (T | undefined)[] | Promise<readonly (T | undefined)[]>;
  /** A filter of the listing's own (a status): what it drops the caller may still see, so a page may resume after it. */
  keep?: (value: T) => boolean;
}

/** How many pages' worth of items a page may read before it ends short at the last visible item. */
const READ_AHEAD = 4;

/** The domain object stored in an item, without the table's own attributes. */
export function withoutKeys<T>(item: Item): T {
  const copy: Item = { ...item };
  for (const attribute of KEY_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}
