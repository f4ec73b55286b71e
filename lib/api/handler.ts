import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../logger.js';
import { httpErrorHandler } from '../http/middleware/error-handler.js';
import { jsonBody } from '../http/middleware/json-body.js';
import { markRoutine, requestLogging } from '../http/middleware/request-logging.js';
import { type Route, matchRoute } from '../http/router.js';
import { type ApiEvent, type ApiResult, type ParsedApiEvent, toApiResult } from '../http/types.js';
import { accessRuleRoutes } from './access-rule-routes.js';
import { agentRoutes } from './agent-routes.js';
import { configRoutes } from './config-routes.js';
import { credentialRoutes } from './credential-routes.js';
import { applicationRoutes } from './application-routes.js';
import type { ApiDeps } from './deps.js';
import { deploymentRoutes } from './deployment-routes.js';
import { eventRoutes } from './event-routes.js';
import { groupRoutes } from './group-routes.js';
import { healthRoutes } from './health-routes.js';
import { instanceRoutes } from './instance-routes.js';
import { openApiRoutes } from './openapi-routes.js';
import { pipelineRoutes } from './pipeline-routes.js';

export const apiRoutes: Route<ApiDeps>[] = [
  ...healthRoutes,
  ...openApiRoutes(() => apiRoutes),
  ...configRoutes,
  ...applicationRoutes,
  ...groupRoutes,
  ...instanceRoutes,
  ...deploymentRoutes,
  ...pipelineRoutes,
  ...eventRoutes,
  ...accessRuleRoutes,
  ...credentialRoutes,
  ...agentRoutes,
];

/** The HTTP API's Lambda handler over the given dependencies. */
export function createApiHandler(deps: ApiDeps) {
  return middy<ApiEvent, ApiResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(requestLogging())
    .use(jsonBody())
    .use(httpErrorHandler())
    .handler(async (event) => {
      const parsed = event as unknown as ParsedApiEvent;
      const { route, params } = matchRoute(apiRoutes, event.requestContext.http.method, event.rawPath);
      const result = await route.dispatch(parsed, params, deps);
      return result.routine ? markRoutine(toApiResult(result)) : toApiResult(result);
    });
}
