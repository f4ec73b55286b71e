import { routeBuilder } from '../http/router.js';
import type { EngineDeps } from '../deployments/engine.js';
import type { ApplicationsRepository, Clock, DeploymentGroupsRepository, InstancesRepository } from '../ports.js';

/** Everything the API's routes use, built once per container (functions/api.ts) or per test. */
export interface ApiDeps extends EngineDeps {
  applications: ApplicationsRepository;
  groups: DeploymentGroupsRepository;
  instances: InstancesRepository;
  clock: Clock;
  newId: () => string;
}

export const route = routeBuilder<ApiDeps>();
