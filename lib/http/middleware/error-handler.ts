import type { MiddlewareObj } from '@middy/core';
import { type ApiErrorCode, DependencyError, DependencyNotConfiguredError, FleetlineError } from '../../errors.js';
import { logger } from '../../logger.js';
import { type ApiEvent, type ApiResult, toApiResult } from '../types.js';

/**
 * Turns any error into the API's error document. Domain errors below 500, a
 * dependency that failed (502) or is not configured (503), whose messages are
 * ours and name the service and what to do, show their message and details;
 * anything else is a 500 that shows nothing of
 * its cause, only the request ID to quote when reporting it.
 */
export function httpErrorHandler(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    name: 'httpErrorHandler',
    onError: (request) => {
      const error = request.error;
      const shown = error instanceof DependencyError || error instanceof DependencyNotConfiguredError;
      if (error instanceof FleetlineError && (error.statusCode < 500 || shown)) {
        logger.info('Request rejected', { statusCode: error.statusCode, code: error.code, errorMessage: error.message });
        const details = error.details.length > 0 ? { details: error.details } : {};
        request.response = toApiResult({
          statusCode: error.statusCode,
          body: { error: { code: error.code, message: error.message, ...details } },
        });
        return;
      }
      logger.error('Request failed', error as Error);
      request.response = toApiResult({
        statusCode: 500,
        body: {
          error: {
            code: 'InternalError' satisfies ApiErrorCode,
            message: 'Internal server error',
            requestId: request.event.requestContext?.requestId,
          },
        },
      });
    },
  };
}
