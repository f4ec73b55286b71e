import type { EngineDeps } from '../deployments/engine-deps.js';
import type { AppspecSource, EventFeed, EventPublisher, ExecutionsRepository, PipelinesRepository } from '../ports.js';
import type { AuthorityDeps } from './pipeline-authority.js';

export interface PipelineDeps extends EngineDeps, AuthorityDeps {
  pipelines: PipelinesRepository;
  executions: ExecutionsRepository;
  appspecs: AppspecSource;
  /** The event feed: state changes as CodeDeploy's and CodePipeline's events (README, Events). */
  events: EventFeed;
  /** EventBridge in AWS; locally none, and the table is the feed. */
  publisher?: EventPublisher | undefined;
}
