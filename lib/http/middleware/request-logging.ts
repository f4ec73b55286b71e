import type { MiddlewareObj } from '@middy/core';
import { logger } from '../../logger.js';
import type { ApiEvent, ApiResult } from '../types.js';

/** Adds the request's keys to every log line of this invocation and logs its outcome. */
export function requestLogging(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    name: 'requestLogging',
    before: (request) => {
      const ctx = request.event.requestContext;
      logger.appendKeys({
        requestId: ctx?.requestId,
        method: ctx?.http?.method,
        path: request.event.rawPath,
        principal: ctx?.authorizer?.iam?.userArn,
      });
    },
    after: (request) => {
      logger.info('Request completed', { statusCode: request.response?.statusCode });
    },
  };
}
