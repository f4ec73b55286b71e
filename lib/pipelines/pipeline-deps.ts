import type { EngineDeps } from '../deployments/engine-deps.js';
import type { AppspecSource, ExecutionsRepository, PipelinesRepository } from '../ports.js';
import type { AuthorityDeps } from './pipeline-authority.js';

export interface PipelineDeps extends EngineDeps, AuthorityDeps {
  pipelines: PipelinesRepository;
  executions: ExecutionsRepository;
  appspecs: AppspecSource;
}
