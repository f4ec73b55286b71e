import type { CredentialDeps } from '../credentials/issue-credentials.js';
import type { AgentTrust } from '../domain/identity.js';
import { type ResourceName, routeBuilder } from '../http/router.js';
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

export function agentTrust(deps: ApiDeps): AgentTrust {
  return { roleNames: deps.agentRoleNames, accounts: deps.agentAccounts };
}

/**
 * What an unknown ID is authorized against: only a grant covering every
 * application and group (or every pipeline) matches it, so a caller without one
 * gets the same 403 for an unknown ID as for an item it may not see.
 */
export const UNKNOWN_DEPLOYMENT_RESOURCE = 'application/*/group/*';
export const UNKNOWN_EXECUTION_RESOURCE = 'pipeline/*';

/** A deployment is governed by its application and group; a 403 names only the deployment. */
export async function deploymentResource(deps: ApiDeps, id: string): Promise<ResourceName> {
  const deployment = await deps.deployments.get(id);
  const resource = deployment ? `application/${deployment.application}/group/${deployment.group}` : UNKNOWN_DEPLOYMENT_RESOURCE;
  return { resource, shownAs: `deployment/${id}` };
}

/** Executions are governed by their pipeline's rules; a 403 names only the execution. */
export async function executionResource(deps: ApiDeps, id: string): Promise<ResourceName> {
  const execution = await deps.executions.get(id);
  return { resource: execution ? `pipeline/${execution.pipeline}` : UNKNOWN_EXECUTION_RESOURCE, shownAs: `execution/${id}` };
}

