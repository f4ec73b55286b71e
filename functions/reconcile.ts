import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/api/build-deps.js';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';
import { workerAdapters } from '../lib/worker/worker-adapters.js';
import { reconcileAll } from '../lib/worker/reconcile-all.js';

const config = loadConfig();
const clients = createAwsClients(config);
const deps = buildPipelineDeps(config, clients, workerAdapters(config, clients));

/** Scheduled backstop (every minute): deadlines, lost agents, half-done work, approvals, waiting pipelines. */
export const handler = middy<ScheduledEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    const summary = await reconcileAll(deps, { timeLeftMs: () => context.getRemainingTimeInMillis() });
    logger.info('Reconciled', { scheduledAt: event?.time, ...summary });
    return summary;
  });
