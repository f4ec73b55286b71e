import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { parseDocument } from 'yaml';
import { CHANNEL_TIMINGS } from '../agent/push-channel.js';
import { DEFAULT_SAFETY_POLL_SECONDS } from '../agent/cli-options.js';
import { DynamoAgentConnectionsRepository } from '../lib/adapters/dynamodb/connections-repository.js';
import { TableClient } from '../lib/adapters/dynamodb/table-client.js';
import { type ChannelEvent, createChannelHandler } from '../lib/channel/handler.js';
import { logger } from '../lib/logger.js';
import { createReconcileHandler } from '../lib/worker/reconcile-handler.js';
import { lambdaContext } from '../local/lambda-context.js';
import { localAgentPrincipal } from '../local/local-fleet.js';
import { repoRoot } from '../test/support/packaged-template.js';
import { startBenchStack } from './bench-stack.js';
import { type Figure, printFigure } from './figure.js';
import { writeFigureLine } from './figures-only-stdout.js';

/** us-east-1 list prices (Lambda on arm64), printed with the figures. */
const PRICES = {
  httpApiPerMillionRequests: 1.0,
  websocketPerMillionMessages: 1.0,
  websocketPerMillionConnectionMinutes: 0.25,
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecondArm: 0.0000133334,
  dynamoPerMillionReadUnits: 0.125,
  dynamoPerMillionWriteUnits: 0.625,
  cloudWatchLogsIngestionPerGb: 0.5,
};
/** What is not measured here, printed with the figures. */
const ASSUMPTIONS = {
  /** Lambda's own START, END and REPORT lines for every invocation. */
  lambdaPlatformLogBytesPerInvocation: 300,
  /** Counted as one billed message each (an upper bound: they may not be billed as messages). */
  connectAndDisconnectAreMessages: true,
  /** Handler durations are measured against DynamoDB Local on this machine; in AWS DynamoDB's latency takes their place. */
  durationsMeasuredLocally: true,
  /** Scheduled EventBridge rules cost nothing; the reconciler's work is measured on a table of idle instances. */
  scheduleRuleCost: 0,
};
const SAMPLES = 20;
/** Unmeasured runs first: a warm container has served many requests (cold starts are measured by function-bundles). */
const WARMUPS = 5;
const HOURS_PER_MONTH = 730;
const MINUTES_PER_HOUR = 60;

interface Invocation {
  readUnits: number;
  writeUnits: number;
  /** Mean handler duration, billed rounded up to the millisecond. */
  billedMs: number;
  /** Our log lines per invocation (the logger at INFO, as deployed). */
  logBytes: number;
}

/**
 * What an idle agent costs with the control channel, per instance and for the
 * fleet. The schedule is the agent's own (safety poll, keep-alive, renewal
 * with its jitter); what each step costs is measured here by running the real
 * handlers over DynamoDB Local: capacity units (corrected to what AWS bills,
 * see capacity-meter.ts), handler duration and the bytes logged. Everything
 * else is a printed assumption or list price.
 */
export async function benchIdleCost(): Promise<Figure[]> {
  const stack = await startBenchStack();
  try {
    const transactions = await transactionUnits(stack.client, stack.tableName);
    const functionMemoryGb = memoryGb();
    const instanceId = 'idle-1';
    await stack.deps.instances.put(instanceId, {}, new Date().toISOString());
    const principal = localAgentPrincipal(instanceId);

    const poll = await measure(stack.meter, async () => {
      const res = await stack.call('POST', '/agent/v1/poll', { body: { instanceId }, principal });
      if (res.status !== 200 || res.body.assignment !== null) throw new Error(`unexpected poll answer ${res.status}`);
    });

    // A renewal as the agent makes it: the new connection opens, then the old one closes.
    const connections = new DynamoAgentConnectionsRepository(new TableClient(stack.doc, stack.tableName));
    const channel = createChannelHandler({ ...stack.deps, connections, clock: { now: () => new Date() } });
    const context = { domainName: 'x.execute-api.us-east-1.amazonaws.com', stage: 'bench' };
    let opening = 0;
    const invoke = async (event: ChannelEvent) => {
      const res = await channel(event, lambdaContext('channel'));
      if (res.statusCode !== 200) throw new Error(`unexpected channel answer ${res.statusCode}`);
    };
    await invoke({ requestContext: { ...context, connectionId: 'c0', routeKey: '$connect', identity: { userArn: principal } }, queryStringParameters: { instanceId } });
    // Each renewal opens c<n+1> and then closes c<n>, as the agent does: the older one's $disconnect finds the newer recorded.
    const billed = { connect: 0, disconnect: 0, renewals: 0 };
    const timed = async (kind: 'connect' | 'disconnect', event: ChannelEvent) => {
      const started = performance.now();
      await invoke(event);
      billed[kind] += Math.ceil(performance.now() - started);
    };
    const renewal = await measure(stack.meter, async () => {
      const older = opening;
      await timed('connect', { requestContext: { ...context, connectionId: `c${++opening}`, routeKey: '$connect', identity: { userArn: principal } }, queryStringParameters: { instanceId } });
      await timed('disconnect', { requestContext: { ...context, connectionId: `c${older}`, routeKey: '$disconnect' } });
      billed.renewals++;
    });
    const connect = { billedMs: billed.connect / billed.renewals };
    const disconnect = { billedMs: billed.disconnect / billed.renewals };

    const reconcile = createReconcileHandler(stack.deps);
    const reconcilerPass = await measure(stack.meter, () => reconcile({ time: new Date().toISOString() } as ScheduledEvent, lambdaContext('reconcile')));

    // Per instance and hour, from the agent's schedule.
    const keepalive = keepalivesPerConnection();
    const perHour = {
      safetyPolls: 3600 / DEFAULT_SAFETY_POLL_SECONDS,
      renewals: 3600 / keepalive.meanLifetimeSeconds,
      keepalives: (3600 / keepalive.meanLifetimeSeconds) * keepalive.perConnection,
    };
    const lambdaInvocations = perHour.safetyPolls + 2 * perHour.renewals;
    const logBytes =
      perHour.safetyPolls * poll.logBytes + perHour.renewals * renewal.logBytes + lambdaInvocations * ASSUMPTIONS.lambdaPlatformLogBytesPerInvocation;
    const usage = {
      httpRequests: perHour.safetyPolls,
      websocketMessages: perHour.keepalives + (ASSUMPTIONS.connectAndDisconnectAreMessages ? 2 * perHour.renewals : 0),
      connectionMinutes: MINUTES_PER_HOUR,
      lambdaInvocations,
      lambdaGbSeconds:
        (perHour.safetyPolls * poll.billedMs * functionMemoryGb.api + perHour.renewals * renewal.billedMs * functionMemoryGb.channel) / 1000,
      readUnits: perHour.safetyPolls * poll.readUnits + perHour.renewals * renewal.readUnits,
      writeUnits: perHour.safetyPolls * poll.writeUnits + perHour.renewals * renewal.writeUnits,
      logBytes,
    };
    const dollars = (u: typeof usage) => ({
      httpApi: (u.httpRequests * PRICES.httpApiPerMillionRequests) / 1e6,
      websocket: (u.websocketMessages * PRICES.websocketPerMillionMessages + u.connectionMinutes * PRICES.websocketPerMillionConnectionMinutes) / 1e6,
      lambda: (u.lambdaInvocations * PRICES.lambdaPerMillionRequests) / 1e6 + u.lambdaGbSeconds * PRICES.lambdaPerGbSecondArm,
      dynamodb: (u.readUnits * PRICES.dynamoPerMillionReadUnits + u.writeUnits * PRICES.dynamoPerMillionWriteUnits) / 1e6,
      logs: (u.logBytes / 1e9) * PRICES.cloudWatchLogsIngestionPerGb,
    });
    const perInstanceMonth = scale(dollars(usage), HOURS_PER_MONTH);

    // The fleet's fixed part: the reconciler every minute, whatever the fleet's size.
    const reconcilerRunsPerHour = 60;
    const fleet = scale(
      dollars({
        httpRequests: 0,
        websocketMessages: 0,
        connectionMinutes: 0,
        lambdaInvocations: reconcilerRunsPerHour,
        lambdaGbSeconds: (reconcilerRunsPerHour * reconcilerPass.billedMs * functionMemoryGb.reconcile) / 1000,
        readUnits: reconcilerRunsPerHour * reconcilerPass.readUnits,
        writeUnits: reconcilerRunsPerHour * reconcilerPass.writeUnits,
        logBytes: reconcilerRunsPerHour * (reconcilerPass.logBytes + ASSUMPTIONS.lambdaPlatformLogBytesPerInvocation),
      }),
      HOURS_PER_MONTH,
    );

    const figure = (metric: string, value: number, unit: string, n?: number) => printFigure({ bench: 'idle-cost', metric, value: round(value), unit, ...(n ? { n } : {}) });
    const figures = [
      figure('dynamodb_local_units_plain_put', transactions.plainPut, 'WRU'),
      figure('dynamodb_local_units_transaction_of_1_put', transactions.oneItem, 'WRU'),
      figure('dynamodb_local_units_transaction_of_2_puts', transactions.twoItems, 'WRU'),
      figure('http_requests_per_instance_hour', usage.httpRequests, 'requests'),
      figure('keepalives_per_instance_hour', perHour.keepalives, 'messages'),
      figure('websocket_messages_per_instance_hour', usage.websocketMessages, 'messages'),
      figure('renewals_per_instance_hour', perHour.renewals, 'renewals'),
      figure('connection_minutes_per_instance_hour', usage.connectionMinutes, 'min'),
      figure('lambda_invocations_per_instance_hour', usage.lambdaInvocations, 'invocations'),
      figure('safety_poll_billed_ms', poll.billedMs, 'ms', SAMPLES),
      figure('connect_billed_ms', connect.billedMs, 'ms', SAMPLES),
      figure('disconnect_billed_ms', disconnect.billedMs, 'ms', SAMPLES),
      figure('safety_poll_log_bytes', poll.logBytes, 'bytes', SAMPLES),
      figure('renewal_log_bytes', renewal.logBytes, 'bytes', SAMPLES),
      figure('safety_poll_units', poll.readUnits + poll.writeUnits, 'RRU+WRU', SAMPLES),
      figure('renewal_read_units', renewal.readUnits, 'RRU', SAMPLES),
      figure('renewal_write_units', renewal.writeUnits, 'WRU', SAMPLES),
      figure('log_bytes_per_instance_hour', usage.logBytes, 'bytes'),
      ...Object.entries(perInstanceMonth).map(([part, value]) => figure(`dollars_per_instance_month_${part}`, value * 1e6, 'micro-USD')),
      printFigure({ bench: 'idle-cost', metric: 'dollars_per_instance_month', value: round4(sum(perInstanceMonth)), unit: 'USD' }),
      figure('reconciler_billed_ms', reconcilerPass.billedMs, 'ms', SAMPLES),
      figure('reconciler_units_per_run', reconcilerPass.readUnits + reconcilerPass.writeUnits, 'RRU+WRU', SAMPLES),
      figure('reconciler_log_bytes_per_run', reconcilerPass.logBytes, 'bytes', SAMPLES),
      printFigure({ bench: 'idle-cost', metric: 'dollars_per_month_fleet_fixed', value: round4(sum(fleet)), unit: 'USD' }),
    ];
    writeFigureLine(JSON.stringify({ bench: 'idle-cost', prices: PRICES, assumptions: ASSUMPTIONS, functionMemoryGb, renewal: keepalive }));
    return figures;
  } finally {
    await stack.stop();
  }
}

/** Runs `run` SAMPLES times (after WARMUPS unmeasured ones), metering units, duration and what the logger writes. */
async function measure(meter: Awaited<ReturnType<typeof startBenchStack>>['meter'], run: () => Promise<unknown>): Promise<Invocation> {
  let ms = 0;
  let logBytes = 0;
  const level = logger.getLevelName();
  const writes = [process.stdout.write, process.stderr.write];
  logger.setLogLevel('INFO');
  const count = ((chunk: string | Uint8Array) => {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  try {
    for (let i = 0; i < WARMUPS; i++) await run();
    meter.reset();
    process.stdout.write = count;
    process.stderr.write = count;
    for (let i = 0; i < SAMPLES; i++) {
      const start = performance.now();
      await run();
      ms += Math.ceil(performance.now() - start);
    }
  } finally {
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
    logger.setLogLevel(level);
  }
  return { readUnits: meter.totals.readUnits / SAMPLES, writeUnits: meter.totals.writeUnits / SAMPLES, billedMs: ms / SAMPLES, logBytes: logBytes / SAMPLES };
}

/** What DynamoDB Local reports for the same small item written plainly and in transactions (AWS bills 2 units per transactional item). */
async function transactionUnits(client: Awaited<ReturnType<typeof startBenchStack>>['client'], tableName: string) {
  const item = (pk: string) => ({ PK: { S: `PROBE#${pk}` }, SK: { S: 'PROBE' }, expiresAt: { N: '1' } });
  const unitsOf = (out: { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }) =>
    [out.ConsumedCapacity ?? []].flat().reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
  const transact = (...pks: string[]) =>
    new TransactWriteItemsCommand({ TransactItems: pks.map((pk) => ({ Put: { TableName: tableName, Item: item(pk) } })), ReturnConsumedCapacity: 'TOTAL' });
  return {
    plainPut: unitsOf(await client.send(new PutItemCommand({ TableName: tableName, Item: item('a'), ReturnConsumedCapacity: 'TOTAL' }))),
    oneItem: unitsOf(await client.send(transact('b'))),
    twoItems: unitsOf(await client.send(transact('c', 'd'))),
  };
}

/**
 * Keep-alives per connection and its mean lifetime: a connection lives until
 * its renewal, uniformly within the renewal's spread, and sends a keep-alive
 * after every keepaliveSeconds without traffic (none while idle).
 */
function keepalivesPerConnection() {
  const longest = CHANNEL_TIMINGS.renewSeconds;
  const shortest = longest * (1 - CHANNEL_TIMINGS.renewSpread);
  const steps = 10_000;
  let keepalives = 0;
  for (let i = 0; i < steps; i++) {
    const lifetime = shortest + ((i + 0.5) / steps) * (longest - shortest);
    keepalives += Math.floor(lifetime / CHANNEL_TIMINGS.keepaliveSeconds);
  }
  return { perConnection: keepalives / steps, meanLifetimeSeconds: (shortest + longest) / 2 };
}

/** The functions' memory, as serverless.yml gives it (duration is billed per GB-second). */
function memoryGb() {
  const config = parseDocument(readFileSync(join(repoRoot, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }).toJS() as {
    provider: { memorySize: number };
    functions: Record<string, { memorySize?: number }>;
  };
  const of = (fn: string) => (config.functions[fn]?.memorySize ?? config.provider.memorySize) / 1024;
  return { api: of('api'), channel: of('channel'), reconcile: of('reconcile') };
}

function scale<T extends Record<string, number>>(parts: T, factor: number): T {
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v * factor])) as T;
}

const sum = (parts: Record<string, number>) => Object.values(parts).reduce((a, b) => a + b, 0);
const round = (n: number) => Math.round(n * 100) / 100;
const round4 = (n: number) => Math.round(n * 10000) / 10000;
