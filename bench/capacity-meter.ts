import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);
const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);

const MINIMUM_READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand']);

type Capacity = { CapacityUnits?: number };

/**
 * Counts consumed capacity units by asking DynamoDB for them on every call
 * (ReturnConsumedCapacity: TOTAL) through SDK middleware, corrected to what
 * AWS bills where DynamoDB Local reports less:
 * - a transaction: AWS bills 2 write units per item (per KB); DynamoDB Local
 *   reports 2 for the whole transaction, whatever its size (the idle-cost
 *   bench measures this each run), so a transaction counts at least 2 per item;
 * - a write refused by its condition: AWS still bills it (1 unit per KB of
 *   the item: ours are under 1 KB), DynamoDB Local returns only the error;
 * - a GetItem, Query or Scan that finds nothing: AWS bills the minimum read
 *   (0.5 unit, 1 when strongly consistent), DynamoDB Local may report 0.
 */
export function meterCapacity(client: DynamoDBClient) {
  const totals = { writeUnits: 0, readUnits: 0, writeCalls: 0, readCalls: 0 };
  /** Units by operation (command and what it touched), for finding where they go. */
  const byOperation = new Map<string, { units: number; calls: number }>();
  const count = (command: string, input: Record<string, unknown>, units: number, isWrite: boolean) => {
    const operation = `${command} ${describe(input)}`;
    const entry = byOperation.get(operation) ?? { units: 0, calls: 0 };
    byOperation.set(operation, { units: entry.units + units, calls: entry.calls + 1 });
    if (isWrite) {
      totals.writeUnits += units;
      totals.writeCalls++;
    } else {
      totals.readUnits += units;
      totals.readCalls++;
    }
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const isWrite = WRITES.has(command);
      if (!isWrite && !READS.has(command)) return next(args);
      const input = args.input as Record<string, unknown> & { ReturnConsumedCapacity?: string; TransactItems?: unknown[]; ConsistentRead?: boolean };
      input.ReturnConsumedCapacity = 'TOTAL';
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        if (isWrite && (error as Error).name === 'ConditionalCheckFailedException') count(command, input, 1, true);
        throw error;
      }
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      const reported = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      const units =
        command === 'TransactWriteItemsCommand'
          ? Math.max(reported, 2 * (input.TransactItems?.length ?? 0))
          : MINIMUM_READS.has(command)
            ? Math.max(reported, input.ConsistentRead ? 1 : 0.5)
            : reported;
      count(command, input, units, isWrite);
      return result;
    },
    { step: 'initialize', name: 'fleetlineCapacityMeter' },
  );
  return {
    totals,
    byOperation,
    reset() {
      Object.assign(totals, { writeUnits: 0, readUnits: 0, writeCalls: 0, readCalls: 0 });
      byOperation.clear();
    },
  };
}

/** The item kinds an operation touched: each key's SK (or PK) up to its first '#', and the index if any. */
function describe(input: Record<string, unknown>): string {
  const kinds: string[] = [];
  const text = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'object' && value !== null && 'S' in value ? String(value.S) : '');
  const kindOf = (key: unknown) => {
    const k = (key ?? {}) as { PK?: unknown; SK?: unknown };
    return (text(k.SK) || text(k.PK)).split('#')[0] ?? '';
  };
  const transact = input.TransactItems as Record<string, { Key?: unknown; Item?: unknown }>[] | undefined;
  for (const op of transact ?? []) {
    const [verb, body] = Object.entries(op)[0] ?? [];
    kinds.push(`${verb}:${kindOf(body?.Key ?? body?.Item)}`);
  }
  if (input.Key || input.Item) kinds.push(kindOf(input.Key ?? input.Item));
  if (input.IndexName) kinds.push(String(input.IndexName));
  const requests = input.RequestItems as Record<string, unknown[]> | undefined;
  if (requests) kinds.push(`${Object.values(requests).flat().length} items`);
  if (typeof input.UpdateExpression === 'string' && input.UpdateExpression.includes('GSI2SK')) kinds.push('moves GSI2');
  return kinds.join(' ');
}
