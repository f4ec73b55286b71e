import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { logger } from '../logger.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import { reconcileAll } from './reconcile-all.js';

/** Scheduled backstop (every minute): deadlines, lost agents, half-done work, approvals, waiting pipelines. */
export function createReconcileHandler(deps: PipelineDeps) {
  return middy<ScheduledEvent>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      const summary = await reconcileAll(deps, { timeLeftMs: () => context.getRemainingTimeInMillis() });
      logger.info('Reconciled', { scheduledAt: event?.time, ...summary });
      return summary;
    });
}
