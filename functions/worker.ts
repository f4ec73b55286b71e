import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/wiring/build-deps.js';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';
import { buildService, eventPublisher, triggerPublisher, workerAdapters } from '../lib/wiring/worker-adapters.js';
import { type BuildStateChangeEvent, createBuildEventHandler } from '../lib/worker/handle-build-event.js';
import { createStreamHandler } from '../lib/worker/handle-stream.js';
import { createInstanceRunningHandler } from '../lib/worker/instance-running.js';

const config = loadConfig();
const clients = createAwsClients(config);
const deps = { ...buildPipelineDeps(config, clients, workerAdapters(config, clients)), publisher: eventPublisher(config), triggers: triggerPublisher(config), builds: buildService() };
const handle = createStreamHandler(deps);
const handleBuildEvent = createBuildEventHandler(deps);
const instanceRunning = createInstanceRunningHandler(deps);

/**
 * The table's stream: does the work requests recorded (lib/worker); CodeBuild's build state
 * changes (EventBridge); and EC2 instances entering running (EventBridge), which catch up.
 */
export const handler = middy<DynamoDBStreamEvent | BuildStateChangeEvent | { source: 'aws.ec2' }, DynamoDBBatchResponse | Awaited<ReturnType<typeof instanceRunning>> | undefined>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    if ('Records' in event) return handle(event);
    if (event.source === 'aws.ec2') return instanceRunning(event);
    await handleBuildEvent(event as BuildStateChangeEvent);
    return undefined;
  });
