import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/wiring/build-deps.js';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';
import { eventPublisher, workerAdapters } from '../lib/wiring/worker-adapters.js';
import { createStreamHandler } from '../lib/worker/handle-stream.js';

const config = loadConfig();
const clients = createAwsClients(config);
const handle = createStreamHandler({ ...buildPipelineDeps(config, clients, workerAdapters(config, clients)), publisher: eventPublisher(config) });

/** The table's stream: does the work requests recorded (lib/worker). */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler((event) => handle(event));
