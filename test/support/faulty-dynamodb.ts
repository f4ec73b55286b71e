import { DynamoDBClient, ThrottlingException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { EngineCrashed } from '../fakes/store.js';


const WRITES = /^(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)Command$/;

function localClient(maxAttempts?: number, retryStrategy?: ConfiguredRetryStrategy): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: inject('dynamoDbEndpoint'),
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    ...(maxAttempts ? { maxAttempts } : {}),
    ...(retryStrategy ? { retryStrategy } : {}),
  });
}

/**
 * The SDK's standard retries (the same errors retried, the same attempts and
 * retry quota) with backoffs of milliseconds: a throttle injected here waits
 * out no real capacity, and at the SDK's own backoff (up to a second on the
 * first retry of a throttle) the injected faults made most of a run's time.
 */
function quickRetries(maxAttempts: number): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(maxAttempts, (attempt) => 5 * 2 ** attempt);
}

/**
 * A DynamoDB client that dies right after its `crashAfter`-th write took effect:
 * that write's answer and every later call fail with EngineCrashed.
 * `crashAfter: Infinity` only counts (`writes`).
 */
export function crashingClient(crashAfter: number): { client: DynamoDBClient; writes: () => number; crashed: () => boolean; kinds: string[] } {
  const client = localClient();
  const kinds: string[] = [];
  let writes = 0;
  let dead = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (dead) throw new EngineCrashed();
      const out = await next(args);
      if (WRITES.test(String(context.commandName))) {
        writes++;
        kinds.push(writeKind(String(context.commandName), args.input as WriteInput));
        if (writes >= crashAfter) {
          dead = true;
          throw new EngineCrashed();
        }
      }
      return out;
    },
    { step: 'initialize', name: 'crashAfterWrites' },
  );
  return { client, writes: () => writes, crashed: () => dead, kinds };
}

type Key = Record<string, unknown>;
interface WriteInput {
  UpdateExpression?: string;
  TransactItems?: Record<string, { UpdateExpression?: string; Key?: Key; Item?: Key }>[];
  Key?: Key;
  Item?: Key;
  RequestItems?: Record<string, unknown[]>;
}

/** What a write does, without whom it does it to: two writes of one kind exercise the same recovery. */
function writeKind(command: string, input: WriteInput): string {
  // The document client has not marshalled the input yet at this step: keys are plain strings.
  const entity = (key?: Key) => `${String(key?.PK).split('#')[0]}/${String(key?.SK).split('#')[0]}`;
  if (input.TransactItems) {
    const ops = input.TransactItems.map((op) => {
      const [kind, body] = Object.entries(op)[0] ?? ['', {}];
      return `${kind} ${entity(body.Key ?? body.Item)} ${body.UpdateExpression ?? ''}`;
    });
    return `${command} ${[...new Set(ops)].join(' | ')}`;
  }
  return `${command} ${entity(input.Key ?? input.Item)} ${input.UpdateExpression ?? ''}`;
}

export interface InjectedFaults {
  conflicts: number;
  throttles: number;
  timeouts: number;
  /** BatchWriteItem calls that wrote only some of their items and handed the rest back as UnprocessedItems. */
  unprocessed: number;
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * A DynamoDB client over which transactions are cancelled for a
 * TransactionConflict, requests are throttled, writes time out after taking
 * effect, and batch writes leave part of their items unprocessed: the paths
 * DynamoDB Local never produces. The first call that can take each kind of
 * fault takes it (the first transaction is cancelled, the first other request
 * throttled, the first other write times out, the first batch write is cut in
 * half), so every run meets every kind whatever its seed; after that they fall
 * at random (seeded). Faults are injected below the SDK's retry layer
 * (unprocessed items above it: they are an answer, not an error), so what is
 * exercised is the SDK's retries plus Fleetline's own.
 */
export function flakyClient(
  seed: number,
  { rate = 0.15, unprocessedRate = rate }: { rate?: number; unprocessedRate?: number } = {},
): { client: DynamoDBClient; faults: InjectedFaults } {
  const client = localClient(6, quickRetries(6));
  const faults: InjectedFaults = { conflicts: 0, throttles: 0, timeouts: 0, unprocessed: 0 };
  const random = xorshift(seed);
  // Its own sequence, so the other faults fall where they always did for a seed.
  const batchRandom = xorshift(seed ^ 0x9e3779b9);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand') return next(args);
      const roll = batchRandom();
      if (faults.unprocessed > 0 && roll >= unprocessedRate) return next(args);
      // Not yet marshalled at this step (nor the answer unmarshalled): plain items either way.
      const input = args.input as { RequestItems: Record<string, unknown[]> };
      const [table, requests] = Object.entries(input.RequestItems)[0] as [string, unknown[]];
      const kept = requests.slice(0, Math.floor(requests.length / 2));
      faults.unprocessed++;
      const unprocessed = { [table]: requests.slice(kept.length) };
      if (kept.length === 0) return { output: { UnprocessedItems: unprocessed, $metadata: {} }, response: {} } as never;
      const out = (await next({ ...args, input: { ...input, RequestItems: { [table]: kept } } })) as unknown as { output: Record<string, unknown> };
      return { ...out, output: { ...out.output, UnprocessedItems: unprocessed } } as never;
    },
    { step: 'initialize', name: 'leaveUnprocessed' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const roll = random();
      const transaction = command === 'TransactWriteItemsCommand';
      const write = WRITES.test(command);
      // The first call that can take a kind of fault not yet injected takes it; then the roll decides.
      const forced = transaction && faults.conflicts === 0 ? 'conflict' : faults.throttles === 0 ? 'throttle' : write && faults.timeouts === 0 ? 'timeout' : undefined;
      if (forced === 'conflict' || (forced === undefined && roll < rate / 3 && transaction)) {
        faults.conflicts++;
        const items = ((args.input as { TransactItems?: unknown[] }).TransactItems ?? []).length;
        const reasons = Array.from({ length: items }, (_, i) => ({ Code: i === 0 ? 'TransactionConflict' : 'None' }));
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
          CancellationReasons: reasons,
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (forced === 'throttle' || (forced === undefined && roll < (2 * rate) / 3)) {
        faults.throttles++;
        throw new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } });
      }
      if (forced === 'timeout' || (forced === undefined && roll < rate && write)) {
        const out = await next(args); // it took effect; only the answer is lost
        void out;
        faults.timeouts++;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'injectFaults', priority: 'low' },
  );
  return { client, faults };
}
