import type { Authorizer } from '../access/authorizer.js';
import type { ErrorDetail } from '../errors.js';
import { ForbiddenError } from '../errors.js';

export interface AuthorityDeps {
  authorizer: Authorizer;
}

export const DEPLOY_ACTION = 'deployments:create';
export const groupResource = (application: string, group: string) => `application/${application}/group/${group}`;
/** Running a build is starting a CodeBuild project with the pipeline's variables and buildspec: a right of its own. */
export const BUILD_ACTION = 'builds:start';
export const buildProjectResource = (project: string) => `build-project/${project}`;

type ActionOfStage = { type: 'deploy'; application: string; group: string } | { type: 'approval' } | { type: 'build'; project: string };

/** The right an action needs of its author, and on what (approvals need none). */
function neededRight(action: ActionOfStage): { right: string; resource: string } | undefined {
  if (action.type === 'deploy') return { right: DEPLOY_ACTION, resource: groupResource(action.application, action.group) };
  if (action.type === 'build') return { right: BUILD_ACTION, resource: buildProjectResource(action.project) };
  return undefined;
}

/**
 * Saving a pipeline is deciding what it will deploy where and build with what:
 * the author must hold deployments:create on every group its deploy actions
 * target and builds:start on every project its build actions run. Every
 * refused action is named, with its JSON path.
 */
export async function assertMayDeployEverywhere(
  principal: string,
  stages: readonly { actions: readonly ActionOfStage[] }[],
  deps: AuthorityDeps,
): Promise<void> {
  const denied: ErrorDetail[] = [];
  for (const [s, stage] of stages.entries()) {
    for (const [a, action] of stage.actions.entries()) {
      const needed = neededRight(action);
      if (!needed) continue;
      const decision = await deps.authorizer.decide(principal, needed.right, needed.resource);
      if (!decision.allowed) denied.push({ path: `$.stages[${s}].actions[${a}]`, message: `${needed.right} on ${needed.resource} is not allowed` });
    }
  }
  if (denied.length > 0) {
    throw new ForbiddenError(`${principal} may not save a pipeline that deploys where it may not deploy itself`, denied);
  }
}

/**
 * A build action runs with its execution's authority too, checked again when it
 * starts: an author who lost builds:start on the project since saving builds nothing.
 */
export async function assertBuildAuthority(execution: { pipeline: string; authority?: string | undefined }, project: string, deps: AuthorityDeps): Promise<void> {
  await actAsAuthor(execution, 'build', BUILD_ACTION, buildProjectResource(project), deps);
}

/**
 * A deploy action runs with its execution's authority (the pipeline's author),
 * checked again when the action starts: an author who lost the grant since
 * saving deploys nothing. Returns the principal the deployment is created as.
 */
export function deployAuthority(
  execution: { pipeline: string; authority?: string | undefined },
  target: { application: string; group: string },
  deps: AuthorityDeps,
): Promise<string> {
  return actAsAuthor(execution, 'deploy', DEPLOY_ACTION, groupResource(target.application, target.group), deps);
}

/** The execution's author, if it still holds `action` on `resource`; else why not, and what to do. */
async function actAsAuthor(
  execution: { pipeline: string; authority?: string | undefined },
  verb: 'deploy' | 'build',
  action: string,
  resource: string,
  deps: AuthorityDeps,
): Promise<string> {
  const { authority } = execution;
  if (!authority) {
    throw new ForbiddenError(`Pipeline "${execution.pipeline}" has no recorded author to ${verb} as; save the pipeline again (as a principal allowed ${action} on ${resource})`);
  }
  const decision = await deps.authorizer.decide(authority, action, resource);
  if (!decision.allowed) {
    throw new ForbiddenError(
      `Pipeline "${execution.pipeline}" ${verb}s as its author ${authority}, who may no longer ${action} on ${resource}; restore the grant or have an allowed principal save the pipeline again`,
    );
  }
  return authority;
}
