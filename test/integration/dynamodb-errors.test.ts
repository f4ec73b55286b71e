import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { cancellationReasons, isConditionalCheckFailed, isItemTooLarge } from '../../lib/adapters/dynamodb/conditions.js';
import { DynamoExecutionsRepository } from '../../lib/adapters/dynamodb/executions-repository.js';
import { TableClient } from '../../lib/adapters/dynamodb/table-client.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import { ConflictError, ItemTooLargeError } from '../../lib/errors.js';
import { LOCAL_CREDENTIALS, ensureTable } from '../../local/dynamodb-local.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable();
});
afterAll(() => t?.drop());

/** What DynamoDB itself throws for a write, caught. */
async function refusal(write: () => Promise<unknown>): Promise<unknown> {
  try {
    await write();
  } catch (error) {
    return error;
  }
  throw new Error('the write was accepted');
}

/** An execution over a pipeline far larger than Fleetline lets anyone save (as one stored before the limits were checked). */
function oversizedExecution(executionId: string): Execution {
  const stages = Array.from({ length: 50 }, (_, s) => ({
    name: `stage-${s}`,
    actions: Array.from({ length: 50 }, (_, a) => ({ type: 'approval' as const, name: `approval-${a}-${'x'.repeat(80)}`, timeoutMinutes: 60 })),
  }));
  const at = new Date().toISOString();
  return {
    executionId, pipeline: 'huge', definition: stages, revision: { bucket: 'b', key: 'k.zip' }, trigger: { type: 'Manual', by: 'me' },
    status: 'InProgress', stageIndex: 0, waiting: false, createdAt: at, updatedAt: at, version: 0,
    stages: stages.map((s) => ({ name: s.name, status: 'Pending' as const, actions: s.actions.map((a) => ({ name: a.name, type: a.type, status: 'Pending' as const })) })),
  };
}

describe('DynamoDB refusals become domain errors at the adapter', () => {
  it('an execution too large for one item is an ItemTooLargeError naming the pipeline, whichever write meets it', async () => {
    const executions = new DynamoExecutionsRepository(t.table);
    const huge = oversizedExecution('e-huge1');
    for (const write of [() => executions.create(huge), () => executions.recordFailedStart(huge), () => executions.save(huge)]) {
      const error = await refusal(write);
      expect(error).toBeInstanceOf(ItemTooLargeError);
      expect((error as ItemTooLargeError).statusCode).toBe(422);
      expect((error as Error).message).toMatch(/^The execution does not fit in one DynamoDB item \(400 KB\): pipeline "huge"/);
    }
  });

  it('other validation failures are not mistaken for the size limit', async () => {
    const error = await refusal(() => t.doc.send(new PutCommand({ TableName: t.tableName, Item: { PK: 'x', SK: 'y', size: 1 }, ConditionExpression: 'size > :n' })));
    expect((error as Error).name).toBe('ValidationException'); // "size" is a reserved word: a ValidationException whose text says size
    expect(isItemTooLarge(error)).toBe(false);
  });

  it('a failed condition is recognised by its class; a look-alike error is not', async () => {
    await t.doc.send(new PutCommand({ TableName: t.tableName, Item: { PK: 'cond', SK: 'one' } }));
    const failed = await refusal(() => t.doc.send(new PutCommand({ TableName: t.tableName, Item: { PK: 'cond', SK: 'one' }, ConditionExpression: 'attribute_not_exists(PK)' })));
    expect(isConditionalCheckFailed(failed)).toBe(true);
    expect(isConditionalCheckFailed(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }))).toBe(false);
  });

  it('a cancelled transaction gives each operation its reason', async () => {
    const cancelled = await refusal(() =>
      t.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: t.tableName, Item: { PK: 'tx', SK: 'fresh' } } },
            { Put: { TableName: t.tableName, Item: { PK: 'cond', SK: 'one' }, ConditionExpression: 'attribute_not_exists(PK)' } },
          ],
        }),
      ),
    );
    expect(cancellationReasons(cancelled)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(cancellationReasons(new Error('Transaction cancelled [ConditionalCheckFailed]'))).toBeUndefined();
  });

  it('a transaction cancelled only for a conflict with another is retried; one whose condition failed is not', async () => {
    const client = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    let conflicts = 1;
    let sent = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        sent++;
        if (conflicts-- > 0) {
          throw new TransactionCanceledException({ message: 'Transaction cancelled [TransactionConflict]', CancellationReasons: [{ Code: 'TransactionConflict' }], $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: 'conflictOnce' },
    );
    try {
      const table = new TableClient(createDocumentClient(client), t.tableName);
      await table.transactWrite({ TransactItems: [{ Put: { TableName: t.tableName, Item: { PK: 'retry', SK: 'one' }, ConditionExpression: 'attribute_not_exists(PK)' } }] });
      expect(sent).toBe(2);
      expect((await t.doc.send(new GetCommand({ TableName: t.tableName, Key: { PK: 'retry', SK: 'one' } }))).Item).toBeDefined();

      sent = 0;
      const error = await refusal(() =>
        table.transactWrite({ TransactItems: [{ Put: { TableName: t.tableName, Item: { PK: 'retry', SK: 'one' }, ConditionExpression: 'attribute_not_exists(PK)' } }] }),
      );
      expect(cancellationReasons(error)).toEqual(['ConditionalCheckFailed']);
      expect(sent).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('an execution changed since it was read is a ConflictError', async () => {
    const executions = new DynamoExecutionsRepository(t.table);
    const ex = { ...oversizedExecution('e-small1'), definition: [], stages: [] };
    expect(await executions.create(ex)).toBe(true);
    await executions.save(ex);
    expect(await refusal(() => executions.save(ex))).toBeInstanceOf(ConflictError);
  });

  it('the local table is created once: preparing it again finds it (ResourceInUseException) and keeps it', async () => {
    await t.doc.send(new PutCommand({ TableName: t.tableName, Item: { PK: 'kept', SK: 'one' } }));
    await ensureTable(t.client, t.tableName);
    expect((await t.doc.send(new GetCommand({ TableName: t.tableName, Key: { PK: 'kept', SK: 'one' } }))).Item).toBeDefined();
  });
});
