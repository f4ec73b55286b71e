import { EXECUTION_ID_PATTERN } from './execution-id.js';

/**
 * The idempotency tokens of the deployments Fleetline creates itself: a
 * rollback's, derived from the deployment it rolls back, and a pipeline deploy
 * action's, from its execution, place and attempt. A replay finds its
 * deployment by them, so no request may take one first.
 */
export const rollbackToken = (deploymentId: string) => `rollback-of-${deploymentId}`;

export const pipelineActionToken = (executionId: string, stage: number, action: number, attempt: number) =>
  `${executionId}.${stage}.${action}.${attempt}`;

/** Whether a token is one of those (a request naming one is refused). */
export const isEngineToken = (token: string) => {
  const dot = token.indexOf('.');
  return token.startsWith('rollback-of-') || (dot > 0 && EXECUTION_ID_PATTERN.test(token.slice(0, dot)));
};
