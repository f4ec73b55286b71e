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
  /** Units by operation (command and what it touched), for finding where they go. */
  const byOperation = new Map<string, { units: number; calls: number }>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const isWrite = WRITES.has(command);
      if (!isWrite && !READS.has(command)) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      const operation = `${command} ${describe(args.input as Record<string, unknown>)}`;
      const entry = byOperation.get(operation) ?? { units: 0, calls: 0 };
      byOperation.set(operation, { units: entry.units + units, calls: entry.calls + 1 });
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
