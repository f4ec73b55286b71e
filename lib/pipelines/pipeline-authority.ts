import type { Authorizer } from '../access/authorizer.js';
import type { ErrorDetail } from '../errors.js';
import { ForbiddenError } from '../errors.js';

export interface AuthorityDeps {
  authorizer: Authorizer;
}

export const DEPLOY_ACTION = 'deployments:create';
export const groupResource = (application: string, group: string) => `application/${application}/group/${group}`;

/**
 * Saving a pipeline is deciding what it will deploy where: the author must hold
 * deployments:create on every group its deploy actions target. Every refused
 * group is named, with the action's JSON path.
 */
export async function assertMayDeployEverywhere(
  principal: string,
  stages: readonly { actions: readonly ({ type: 'deploy'; application: string; group: string } | { type: 'approval' })[] }[],
  deps: AuthorityDeps,
): Promise<void> {
  const denied: ErrorDetail[] = [];
  for (const [s, stage] of stages.entries()) {
    for (const [a, action] of stage.actions.entries()) {
      if (action.type !== 'deploy') continue;
      const resource = groupResource(action.application, action.group);
      const decision = await deps.authorizer.decide(principal, DEPLOY_ACTION, resource);
      if (!decision.allowed) denied.push({ path: `$.stages[${s}].actions[${a}]`, message: `${DEPLOY_ACTION} on ${resource} is not allowed` });
    }
  }
  if (denied.length > 0) {
    throw new ForbiddenError(`${principal} may not save a pipeline that deploys where it may not deploy itself`, denied);
  }
}

/**
 * A deploy action runs with its execution's authority (the pipeline's author),
 * checked again when the action starts: an author who lost the grant since
 * saving deploys nothing. Returns the principal the deployment is created as.
 */
export async function deployAuthority(
  execution: { pipeline: string; authority?: string | undefined },
  target: { application: string; group: string },
  deps: AuthorityDeps,
): Promise<string> {
  const { authority } = execution;
  const resource = groupResource(target.application, target.group);
  if (!authority) {
    throw new ForbiddenError(`Pipeline "${execution.pipeline}" has no recorded author to deploy as; save the pipeline again (as a principal allowed ${DEPLOY_ACTION} on ${resource})`);
  }
  const decision = await deps.authorizer.decide(authority, DEPLOY_ACTION, resource);
  if (!decision.allowed) {
    throw new ForbiddenError(
      `Pipeline "${execution.pipeline}" deploys as its author ${authority}, who may no longer ${DEPLOY_ACTION} on ${resource}; restore the grant or have an allowed principal save the pipeline again`,
    );
  }
  return authority;
}
