import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);
const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);

type Capacity = { CapacityUnits?: number };

/**
 * Counts consumed capacity units by asking DynamoDB for them on every call
 * (ReturnConsumedCapacity: TOTAL) through SDK middleware.
 */
export function meterCapacity(client: DynamoDBClient) {
  const totals = { writeUnits: 0, readUnits: 0, writeCalls: 0, readCalls: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const isWrite = WRITES.has(command);
      if (!isWrite && !READS.has(command)) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (isWrite) {
        totals.writeUnits += units;
        totals.writeCalls++;
      } else {
        totals.readUnits += units;
        totals.readCalls++;
      }
      return result;
    },
    { step: 'initialize', name: 'fleetlineCapacityMeter' },
  );
  return {
    totals,
    reset() {
      Object.assign(totals, { writeUnits: 0, readUnits: 0, writeCalls: 0, readCalls: 0 });
    },
  };
}
