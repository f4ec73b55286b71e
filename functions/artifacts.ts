import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/wiring/build-deps.js';
import { readNotification } from '../lib/artifacts/handle-notification.js';
import { startPipelinesFor } from '../lib/artifacts/start-pipelines.js';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';

const config = loadConfig();
// It only records executions (the worker runs them): no S3 read, no EC2 lookup, no presigning, no STS, no push.
const deps = buildPipelineDeps(config, createAwsClients(config));

/**
 * S3 ObjectCreated notifications from the artifact bucket. Each record is
 * handled on its own; if any failed, the invocation fails after the others are
 * done, so Lambda's retry redoes only what is missing (the rest is idempotent).
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const { accepted, skipped } = readNotification(event, config.artifactBucket);
    let started = 0;
    let failed = 0;
    for (const upload of accepted) {
      try {
        started += (await startPipelinesFor(upload, deps)).started.length;
      } catch (error) {
        failed++;
        logger.error('Could not start pipelines for an upload', { key: upload.key, error: error as Error });
      }
    }
    if (failed > 0) throw new Error(`${failed} of ${accepted.length} record(s) failed; retrying the event`);
    return { accepted: accepted.length, skipped: skipped.length, started };
  });
