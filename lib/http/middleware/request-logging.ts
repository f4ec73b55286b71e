import type { MiddlewareObj } from '@middy/core';
import { logger } from '../../logger.js';
import type { ApiEvent, ApiResult } from '../types.js';

/** Results of routine requests: their outcome is logged at DEBUG (idle fleets would otherwise fill, and pay for, the logs). */
const routine = new WeakSet<ApiResult>();

export function markRoutine(result: ApiResult): ApiResult {
  routine.add(result);
  return result;
}

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
      const outcome = { statusCode: request.response?.statusCode };
      if (request.response && routine.has(request.response)) logger.debug('Request completed', outcome);
      else logger.info('Request completed', outcome);
    },
  };
}
