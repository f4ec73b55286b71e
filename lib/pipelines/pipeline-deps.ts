import type { EngineDeps } from '../deployments/engine.js';
import type { AppspecSource, ExecutionsRepository, PipelinesRepository } from '../ports.js';

export interface PipelineDeps extends EngineDeps {
  pipelines: PipelinesRepository;
  executions: ExecutionsRepository;
  appspecs: AppspecSource;
}
