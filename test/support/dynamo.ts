import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { TableClient } from '../../lib/adapters/dynamodb/table-client.js';
import { LOCAL_CREDENTIALS, ensureTable } from '../../local/dynamodb-local.js';

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  table: TableClient;
  drop(): Promise<void>;
}

/** A fresh table on the run's DynamoDB Local, named uniquely so test files never share state. */
export async function createTestTable(): Promise<TestTable> {
  const client = new DynamoDBClient({
    endpoint: inject('dynamoDbEndpoint'),
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const tableName = `test-${randomUUID()}`;
  await ensureTable(client, tableName);
  const doc = createDocumentClient(client);
  return {
    tableName,
    client,
    doc,
    table: new TableClient(doc, tableName),
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      client.destroy();
    },
  };
}
