import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/api/build-deps.js';
import { loadConfig } from '../lib/config.js';
import { reconcile } from '../lib/deployments/reconcile.js';
import { logger } from '../lib/logger.js';
import { reconcileExecutions } from '../lib/pipelines/reconcile-executions.js';

const config = loadConfig();
const deps = buildPipelineDeps(config, createAwsClients(config));

/** Scheduled backstop (every minute): deadlines, lost agents, interrupted creations, approvals, waiting pipelines. */
export const handler = middy<ScheduledEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const summary = { ...(await reconcile(deps)), executions: await reconcileExecutions(deps) };
    logger.info('Reconciled', { scheduledAt: event?.time, ...summary });
    return summary;
  });
