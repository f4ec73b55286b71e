import type { ScheduledEvent } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';

loadConfig();

/**
 * Scheduled backstop (every minute). Progress is event-driven; this only moves
 * work whose deadlines have passed. The deployment engine plugs in here.
 */
export const handler = middy<ScheduledEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    logger.info('Reconcile tick', { scheduledAt: event?.time });
    return { reconciled: 0 };
  });
