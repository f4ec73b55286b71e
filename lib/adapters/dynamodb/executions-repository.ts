import { DeleteCommand, type NativeAttributeValue, PutCommand, type TransactWriteCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { boundExecution } from '../../domain/execution-size.js';
import type { Execution } from '../../domain/pipeline.js';
import { ConflictError, ItemTooLargeError } from '../../errors.js';
import type { ExecutionsRepository, Page, PageRequest } from '../../ports.js';
import { cancellationReasons, isConditionalCheckFailed, isItemTooLarge } from './conditions.js';
import { keys } from './keys.js';
import { TTL_DAYS, expiresAt } from './ttl.js';
import { type TableClient, withoutKeys } from './table-client.js';

type Item = Record<string, NativeAttributeValue>;

/** S3 sequencers compare as hex numbers; a fixed width lets DynamoDB compare them as strings. */
const SEQUENCER_WIDTH = 40;

function toItem(unbounded: Execution): Item {
  const ex = boundExecution(unbounded);
  const waiting = ex.status === 'InProgress' && ex.waiting;
  return {
    ...keys.execution(ex.executionId),
    ...keys.executionListing(ex.pipeline, ex.createdAt, ex.executionId),
    ...(waiting ? keys.waitingExecution(ex.pipeline, ex.stageIndex, ex.createdAt, ex.executionId) : {}),
    type: 'Execution',
    ...ex,
  };
}

/** DynamoDB's size refusal as a domain error; any other error as it is. */
function tooLargeOr(error: unknown, ex: Execution): unknown {
  if (!isItemTooLarge(error)) return error;
  return new ItemTooLargeError(
    `The execution does not fit in one DynamoDB item (400 KB): pipeline "${ex.pipeline}" is larger than Fleetline allows; save it again to have it checked against the limits`,
  );
}

export class DynamoExecutionsRepository implements ExecutionsRepository {
  constructor(private readonly table: TableClient) {}

  async create(ex: Execution): Promise<boolean> {
    try {
      await this.table.transactWrite({
          TransactItems: [
            { Put: { TableName: this.table.tableName, Item: toItem(ex), ConditionExpression: 'attribute_not_exists(PK)' } },
            { Put: { TableName: this.table.tableName, Item: { ...keys.activeExecution(ex.executionId), pipeline: ex.pipeline } } },
          ],
        });
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.[0] === 'ConditionalCheckFailed') return false;
      throw tooLargeOr(error, ex);
    }
  }

  async recordFailedStart(ex: Execution): Promise<boolean> {
    try {
      await this.table.doc.send(
        new PutCommand({ TableName: this.table.tableName, Item: toItem(ex), ConditionExpression: 'attribute_not_exists(PK)' }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw tooLargeOr(error, ex);
    }
  }

  async get(executionId: string, options: { consistent?: boolean } = {}): Promise<Execution | undefined> {
    const item = await this.table.get(keys.execution(executionId), options.consistent);
    return item && withoutKeys<Execution>(item);
  }

  async listByPipeline(pipeline: string, page: PageRequest): Promise<Page<Execution>> {
    const partition = `EXECUTIONS#${pipeline}`;
    return this.table.queryPage(
      { IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :p', ExpressionAttributeValues: { ':p': partition }, ScanIndexForward: false },
      page,
      { attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'], partition: { attribute: 'GSI1PK', value: partition } },
      { values: (items) => items.map((i) => withoutKeys<Execution>(i)) },
    );
  }

  /**
   * With `leaveStage`, the execution's move and the release of that stage's
   * slot are one transaction: a crash between the two can never leave a slot
   * held by an execution that has moved on. With `notHolding`, it is written
   * only if the execution does not hold that stage's slot.
   */
  async save(ex: Execution, options: { leaveStage?: number; notHolding?: number } = {}): Promise<Execution> {
    const { tableName } = this.table;
    const next = { ...ex, version: ex.version + 1 };
    const put = { TableName: tableName, Item: toItem(next), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': ex.version } };
    const others: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
    if (ex.status !== 'InProgress') others.push({ Delete: { TableName: tableName, Key: keys.activeExecution(ex.executionId) } });
    if (options.leaveStage !== undefined) {
      others.push({
        Update: {
          TableName: tableName,
          Key: keys.stageSlot(ex.pipeline, options.leaveStage),
          UpdateExpression: 'REMOVE holder',
          ConditionExpression: 'attribute_not_exists(holder) OR holder = :me',
          ExpressionAttributeValues: { ':me': ex.executionId },
        },
      });
    }
    if (options.notHolding !== undefined) {
      others.push({
        ConditionCheck: {
          TableName: tableName,
          Key: keys.stageSlot(ex.pipeline, options.notHolding),
          ConditionExpression: 'attribute_not_exists(holder) OR holder <> :me',
          ExpressionAttributeValues: { ':me': ex.executionId },
        },
      });
    }
    try {
      if (others.length === 0) await this.table.doc.send(new PutCommand(put));
      else await this.table.transactWrite({ TransactItems: [{ Put: put }, ...others] });
      return next;
    } catch (error) {
      if (isConditionalCheckFailed(error) || cancellationReasons(error)?.includes('ConditionalCheckFailed')) {
        throw new ConflictError(`Execution ${ex.executionId} changed concurrently`);
      }
      throw tooLargeOr(error, ex);
    }
  }

  async waiting(pipeline: string, stageIndex: number): Promise<string[]> {
    const ids: string[] = [];
    await this.table.queryEach(
      {
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :p',
        ExpressionAttributeValues: { ':p': keys.waitingExecution(pipeline, stageIndex, '', '').GSI2PK },
      },
      (page) => {
        for (const item of page.Items ?? []) ids.push(String(item.GSI2SK).split('#').pop() as string);
      },
    );
    return ids;
  }

  async acquireStage(pipeline: string, stageIndex: number, executionId: string): Promise<boolean> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.stageSlot(pipeline, stageIndex),
          UpdateExpression: 'SET holder = :me',
          ConditionExpression: 'attribute_not_exists(holder) OR holder = :me',
          ExpressionAttributeValues: { ':me': executionId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async releaseStage(pipeline: string, stageIndex: number, executionId: string): Promise<void> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.stageSlot(pipeline, stageIndex),
          UpdateExpression: 'REMOVE holder',
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': executionId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // not ours (any more): nothing to release
    }
  }

  async listActive(): Promise<{ executionId: string; pipeline: string }[]> {
    const active: { executionId: string; pipeline: string }[] = [];
    const { PK } = keys.activeExecution('');
    await this.table.queryEach({ KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK } }, (page) => {
      for (const item of page.Items ?? []) active.push({ executionId: String(item.SK), pipeline: String(item.pipeline) });
    });
    return active;
  }

  async markActive(executionId: string, pipeline: string): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.tableName, Item: { ...keys.activeExecution(executionId), pipeline } }));
  }

  async addGroupWaiter(application: string, group: string, executionId: string): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.tableName, Item: { ...keys.groupWaiter(application, group, executionId), expiresAt: expiresAt(TTL_DAYS.groupWaiter) } }));
  }

  async takeGroupWaiters(application: string, group: string): Promise<string[]> {
    const { PK } = keys.groupWaiter(application, group, '');
    const ids: string[] = [];
    await this.table.queryEach({ KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK } }, (page) => {
      for (const item of page.Items ?? []) ids.push(String(item.SK));
    });
    for (const id of ids) {
      await this.table.doc.send(new DeleteCommand({ TableName: this.table.tableName, Key: keys.groupWaiter(application, group, id) }));
    }
    return ids;
  }

  async recordSequencer(bucket: string, key: string, sequencer: string): Promise<boolean> {
    const padded = sequencer.toUpperCase().padStart(SEQUENCER_WIDTH, '0');
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.objectSequencer(bucket, key),
          UpdateExpression: 'SET latest = :s, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(latest) OR latest <= :s',
          ExpressionAttributeValues: { ':s': padded, ':exp': expiresAt(TTL_DAYS.objectSequencer) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
