import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { readNotification } from '../lib/artifacts/handle-notification.js';
import { loadConfig } from '../lib/config.js';
import { logger } from '../lib/logger.js';

const config = loadConfig();

/** S3 ObjectCreated notifications from the artifact bucket. */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const { accepted, skipped } = readNotification(event, config.artifactBucket);
    for (const upload of accepted) {
      logger.info('Artifact received', { bucket: upload.bucket, key: upload.key, versionId: upload.versionId, size: upload.size });
    }
    return { accepted: accepted.length, skipped: skipped.length };
  });
