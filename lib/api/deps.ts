import type { CredentialDeps } from '../credentials/issue-credentials.js';
import { NotFoundError } from '../errors.js';
import { routeBuilder } from '../http/router.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import type { AccessRulesRepository, ApplicationsRepository, Clock, DeploymentGroupsRepository, InstancesRepository } from '../ports.js';

/** Everything the API's routes use, built once per container (functions/api.ts) or per test. */
export interface ApiDeps extends PipelineDeps, CredentialDeps {
  applications: ApplicationsRepository;
  groups: DeploymentGroupsRepository;
  instances: InstancesRepository;
  clock: Clock;
  newId: () => string;
  accessRules: AccessRulesRepository;
}

export const route = routeBuilder<ApiDeps>();

/** Access-rule resources are named by application and group; a deployment ID is looked up (404 when unknown). */
export async function deploymentResource(deps: ApiDeps, id: string): Promise<string> {
  const deployment = await deps.deployments.get(id);
  if (!deployment) throw new NotFoundError(`Deployment ${id} does not exist`);
  return `application/${deployment.application}/group/${deployment.group}`;
}

/** Executions are governed by their pipeline's rules. */
export async function executionResource(deps: ApiDeps, id: string): Promise<string> {
  const execution = await deps.executions.get(id);
  if (!execution) throw new NotFoundError(`Execution ${id} does not exist`);
  return `pipeline/${execution.pipeline}`;
}
