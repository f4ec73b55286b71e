import type { Context, DynamoDBStreamEvent, S3Event, ScheduledEvent } from 'aws-lambda';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_EMULATOR_CREDENTIALS } from '../lib/adapters/aws/local-emulators.js';
import { provideLocalBuildService } from '../lib/wiring/local-builds.js';
import type { BuildStateChangeEvent } from '../lib/worker/handle-build-event.js';
import { LocalBuildService } from './build/local-build-service.js';
import { CHANNEL_PATH, type ChannelHandler, type LocalChannel, createLocalChannel } from './channel-server.js';
import { BUILT_CONSOLE_DIR } from './console-files.js';
import { type ApiHandler, type DevServer, LOCAL_ACCOUNT, LOCAL_ADMIN_ARN, startDevServer } from './dev-server.js';
import { type DynamoDbLocal, ensureTable, startDynamoDbLocal } from './dynamodb-local.js';
import { lambdaContext } from './lambda-context.js';
import { registerLocalInstances, startLocalFleet } from './local-fleet.js';
import { type S3Local, startS3Local } from './s3-local.js';
import { scheduledEvent } from './scheduled-event.js';
import { removeStackInfo, writeStackInfo } from './state-dir.js';
import { type StreamPoller, startStreamPoller } from './stream-poller.js';

export interface LocalStackOptions {
  apiPort: number;
  s3Port: number;
  dynamoDbPort: number;
  /** Where DynamoDB and S3 keep their data; DynamoDB runs in memory when `persist` is false. */
  stateDir: string;
  persist: boolean;
  tableName?: string;
  bucket?: string;
  /** How often the reconcile function runs (the deployed schedule is every minute). */
  scheduleMs?: number;
  /** How many local agent processes to run (design: FLEETLINE_LOCAL_AGENTS, default 3). */
  agents?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  apiUrl: string;
  /** The agents' control channel (WebSocket), served by the same dev server. */
  channelUrl: string;
  channel: LocalChannel;
  /** HTTP API requests served per caller principal. */
  requestsByPrincipal: Map<string, number>;
  /** `<principal> <METHOD> <path>` → requests served. */
  requestsByRoute: Map<string, number>;
  /** S3 requests made through presigned URLs (agents' bundle downloads and log uploads), per method. */
  s3PresignedRequests: Map<string, number>;
  s3Endpoint: string;
  dynamoDbEndpoint: string;
  tableName: string;
  bucket: string;
  agentIds: string[];
  /** Runs the reconcile function once, as the schedule would. */
  reconcile(): Promise<unknown>;
  /** The table's stream, feeding the worker function. */
  stream: StreamPoller;
  stop(): Promise<void>;
}

type Handler<E> = (event: E, context: Context) => Promise<unknown>;

let started = false;

/**
 * DynamoDB Local, s3rver, the API behind a local API Gateway stand-in, S3
 * notifications forwarded to the artifacts function, the table's stream
 * feeding the worker function, and the schedule. The
 * functions read their configuration at import, as in Lambda, so one process
 * hosts one stack.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  if (started) throw new Error('A local stack is already running in this process');
  started = true;
  const log = options.log ?? (() => undefined);
  const tableName = options.tableName ?? 'fleetline-local';
  const bucket = options.bucket ?? 'fleetline-artifacts';
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) {
      await fn().catch((error) => log(`error while stopping: ${String(error)}`));
    }
    started = false;
  };

  try {
    const dynamo: DynamoDbLocal = await startDynamoDbLocal(
      options.dynamoDbPort,
      options.persist ? join(options.stateDir, 'dynamodb') : undefined,
    );
    stops.push(dynamo.stop);
    await ensureTable(dynamo.client, tableName);
    log(`DynamoDB Local  ${dynamo.endpoint} (table ${tableName})`);

    const s3Endpoint = `http://127.0.0.1:${options.s3Port}`;
    Object.assign(process.env, {
      TABLE_NAME: tableName,
      ARTIFACT_BUCKET: bucket,
      STAGE: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      ADMIN_PRINCIPALS: process.env.ADMIN_PRINCIPALS ?? LOCAL_ADMIN_ARN,
      // Local agents sign as sessions of the local account.
      AGENT_ACCOUNTS: process.env.AGENT_ACCOUNTS ?? LOCAL_ACCOUNT,
      // Local agents poll often so a deployment starts at once; AWS keeps the production default.
      AGENT_POLL_INTERVAL_SECONDS: process.env.AGENT_POLL_INTERVAL_SECONDS ?? '1',
      // Locally no notification leaves the machine (the log shows each): a trigger may name any topic of the local account.
      TRIGGER_TOPIC_ARNS: process.env.TRIGGER_TOPIC_ARNS ?? `arn:aws:sns:*:${LOCAL_ACCOUNT}:*`,
    });
    // Only the emulators' clients get local keys (their endpoints are loopback); STS and EC2
    // keep the user's own credential chain, so /credentials and ec2TagSet groups reach AWS.
    process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

    // Build actions run here with the built-in buildspec runner; their ends reach the worker as CodeBuild's events would.
    let worker: Handler<DynamoDBStreamEvent | BuildStateChangeEvent> | undefined;
    const builds = new LocalBuildService({
      s3: new S3Client({ endpoint: s3Endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true, credentials: LOCAL_EMULATOR_CREDENTIALS }),
      onEnded: async (event) => {
        await worker?.(event, lambdaContext('worker', 120_000));
      },
      region: process.env.AWS_REGION,
      log,
    });
    provideLocalBuildService(builds);
    stops.push(async () => {
      await builds.close();
      provideLocalBuildService(undefined);
    });

    const artifacts = (await import('../functions/artifacts.js')).handler as Handler<S3Event>;
    const reconcileHandler = (await import('../functions/reconcile.js')).handler as Handler<ScheduledEvent>;
    worker = (await import('../functions/worker.js')).handler as Handler<DynamoDBStreamEvent | BuildStateChangeEvent>;

    // The worker is fed by DynamoDB Local's own stream, as Lambda's event source mapping feeds it in AWS.
    const stream = await startStreamPoller({
      client: dynamo.client,
      tableName,
      startingPosition: options.persist ? 'LATEST' : 'TRIM_HORIZON',
      handler: async (event) => (await worker!(event, lambdaContext('worker', 120_000))) as never,
      onGiveUp: (record, error) => log(`worker gave up on stream record ${record.dynamodb?.SequenceNumber ?? '?'}: ${String(error)}`),
    });
    stops.push(stream.stop);

    const s3: S3Local = await startS3Local({
      port: options.s3Port,
      directory: join(options.stateDir, 's3'),
      buckets: [bucket],
      onEvent: async (event) => {
        await artifacts(event, lambdaContext('artifacts'));
      },
      onError: (error) => log(`artifacts function failed: ${String(error)}`),
    });
    stops.push(s3.stop);
    log(`S3 (s3rver)     ${s3.endpoint} (bucket ${bucket})`);

    const channelHandler = (await import('../functions/channel.js')).handler as ChannelHandler;
    let apiHost = `127.0.0.1:${options.apiPort}`;
    const channel = createLocalChannel(channelHandler, () => apiHost);
    // The API function reads its configuration (the channel URL among it) at import, and the URL is known only once the server listens.
    let api: ApiHandler | undefined;
    const server: DevServer = await startDevServer(async (event, context) => {
      if (!api) throw new Error('the API function is not loaded yet');
      return api(event, context);
    }, options.apiPort, channel, { consoleDir: BUILT_CONSOLE_DIR });
    apiHost = new URL(server.url).host;
    stops.push(server.stop);
    // The engine's pushes reach this server's Management API stand-in, as the SDK reads the endpoint from the environment.
    process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = server.url;
    const channelUrl = `${server.url.replace(/^http/, 'ws')}${CHANNEL_PATH}`;
    // Agents learn it from their poll answers, as deployed agents learn the WebSocket API's URL.
    process.env.CHANNEL_URL = channelUrl;
    api = (await import('../functions/api.js')).handler;
    log(`HTTP API        ${server.url}`);
    log(`Web console     ${server.url}/console/`);
    log(`Agent channel   ${channelUrl}`);

    const agentIds = Array.from({ length: options.agents ?? 3 }, (_, i) => `local-${i + 1}`);
    // Registered here, once: tags changed through the API later survive every restart.
    const created = await registerLocalInstances(server.url, agentIds);
    const fleet = startLocalFleet({ instanceIds: agentIds, apiUrl: server.url, stateDir: options.stateDir, log });
    stops.push(fleet.stop);
    if (agentIds.length > 0) {
      const tags = created.length === agentIds.length ? 'tags env=local, fleet=local' : 'tags kept from the last run';
      log(`Local agents    ${agentIds.join(', ')} (${tags})`);
    }

    const reconcile = () => reconcileHandler(scheduledEvent(), lambdaContext('reconcile', 55_000));
    const timer = setInterval(() => {
      reconcile().catch((error) => log(`reconcile failed: ${String(error)}`));
    }, options.scheduleMs ?? 60_000);
    stops.push(async () => clearInterval(timer));

    writeStackInfo(options.stateDir, {
      pid: process.pid,
      apiUrl: server.url,
      s3Endpoint: s3.endpoint,
      dynamoDbEndpoint: dynamo.endpoint,
      bucket,
    });
    stops.push(async () => removeStackInfo(options.stateDir));

    return {
      apiUrl: server.url,
      channelUrl,
      channel,
      requestsByPrincipal: server.requestsByPrincipal,
      requestsByRoute: server.requestsByRoute,
      s3PresignedRequests: s3.presignedRequests,
      s3Endpoint: s3.endpoint,
      dynamoDbEndpoint: dynamo.endpoint,
      tableName,
      bucket,
      agentIds: fleet.instanceIds,
      reconcile,
      stream,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
