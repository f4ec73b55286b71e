import { routeBuilder } from '../http/router.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import type { ApplicationsRepository, Clock, DeploymentGroupsRepository, InstancesRepository } from '../ports.js';

/** Everything the API's routes use, built once per container (functions/api.ts) or per test. */
export interface ApiDeps extends PipelineDeps {
  applications: ApplicationsRepository;
  groups: DeploymentGroupsRepository;
  instances: InstancesRepository;
  clock: Clock;
  newId: () => string;
}

export const route = routeBuilder<ApiDeps>();
