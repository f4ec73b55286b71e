import { EXECUTION_ID_PATTERN } from './execution-id.js';

/**
 * The idempotency tokens of the deployments Fleetline creates itself: a
 * rollback's, derived from the deployment it rolls back, and a pipeline deploy
 * action's, from its execution, place and attempt; a catch-up's, from the
 * instance and the deployment whose revision it gets. A replay finds its
 * deployment by them, so no request may take one first.
 */
export const rollbackToken = (deploymentId: string) => `rollback-of-${deploymentId}`;

/** An instance catching up to a group's last success: one per instance and successful deployment, whatever delivered the news. */
export const catchUpToken = (revisionOf: string, instanceId: string) => `catch-up-${revisionOf}-${instanceId}`;

export const pipelineActionToken = (executionId: string, stage: number, action: number, attempt: number) =>
  `${executionId}.${stage}.${action}.${attempt}`;

/** Whether a token is one of those (a request naming one is refused). */
export const isEngineToken = (token: string) => {
  const dot = token.indexOf('.');
  return token.startsWith('rollback-of-') || token.startsWith('catch-up-') || (dot > 0 && EXECUTION_ID_PATTERN.test(token.slice(0, dot)));
};

/** The identity that owns the engine's tokens: a replay is the engine's own, whoever the deployment is created for. */
export const ENGINE_TOKEN_OWNER = 'fleetline:engine';

/**
 * An idempotency token as stored: scoped to the caller who used it, so the same
 * token from another caller is another request and never finds (nor names) the
 * first caller's deployment. Requests cannot name engine tokens, so those are the engine's.
 */
export interface ScopedToken {
  owner: string;
  token: string;
}

export const scopedToken = (token: string, caller: string): ScopedToken => ({ owner: isEngineToken(token) ? ENGINE_TOKEN_OWNER : caller, token });
