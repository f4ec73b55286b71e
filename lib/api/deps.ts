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
  /** For GET /config: the functions' region, and the local stack's S3 emulator (never set in AWS). */
  region?: string | undefined;
  localS3Endpoint?: string | undefined;
}

export const route = routeBuilder<ApiDeps>();

export function agentTrust(deps: ApiDeps): AgentTrust {
  return { roleNames: deps.agentRoleNames, accounts: deps.agentAccounts };
}

/**
 * A deployment is governed by its application and group; a 403 names only the
 * deployment. Undefined for an unknown ID: the route answers it as missing
 * (after the caller's grant for the action is checked), as it answers a deployment the caller may not see.
 */
export async function deploymentResource(deps: ApiDeps, id: string): Promise<ResourceName | undefined> {
  const deployment = await deps.deployments.get(id);
  return deployment && { resource: `application/${deployment.application}/group/${deployment.group}`, shownAs: `deployment/${id}` };
}

/** Executions are governed by their pipeline's rules; a 403 names only the execution. Undefined for an unknown ID. */
export async function executionResource(deps: ApiDeps, id: string): Promise<ResourceName | undefined> {
  const execution = await deps.executions.get(id);
  return execution && { resource: `pipeline/${execution.pipeline}`, shownAs: `execution/${id}` };
}

