import { BatchWriteCommand, type DynamoDBDocumentClient, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, NativeAttributeValue>;

const BATCH_SIZE = 25; // DynamoDB's limit per BatchWriteItem
const MAX_ATTEMPTS = 10;

/**
 * Puts every item, 25 per request and `concurrency` requests at a time,
 * retrying the items DynamoDB leaves unprocessed with exponential backoff and
 * jitter. On a failure no further request starts, and it throws only once the
 * requests in flight have settled: after it returns or throws, none of its
 * writes is still on its way.
 */
export async function batchPut(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: Item[],
  { concurrency = 8, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)) } = {},
): Promise<void> {
  const chunks: Item[][] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) chunks.push(items.slice(i, i + BATCH_SIZE));
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < chunks.length) {
      const chunk = chunks[next++] as Item[];
      try {
        await writeChunk(doc, tableName, chunk, sleep);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  if (failure) throw failure.error;
}

async function writeChunk(
  doc: DynamoDBDocumentClient,
  tableName: string,
  chunk: Item[],
  sleep: (ms: number) => Promise<unknown>,
): Promise<void> {
  let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; requests.length > 0; attempt++) {
    if (attempt >= MAX_ATTEMPTS) throw new Error(`${requests.length} item(s) still unprocessed after ${MAX_ATTEMPTS} attempts`);
    if (attempt > 0) await sleep(Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
    const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
  }
}
