import type { EngineDeps } from '../deployments/engine-deps.js';
import type { AppspecSource, BuildService, EventFeed, EventPublisher, ExecutionsRepository, PipelinesRepository, TriggerPublisher } from '../ports.js';
import type { AuthorityDeps } from './pipeline-authority.js';

export interface PipelineDeps extends EngineDeps, AuthorityDeps {
  pipelines: PipelinesRepository;
  executions: ExecutionsRepository;
  appspecs: AppspecSource;
  /** The event feed: state changes as CodeDeploy's and CodePipeline's events (README, Events). */
  events: EventFeed;
  /** EventBridge in AWS; locally none, and the table is the feed. */
  publisher?: EventPublisher | undefined;
  /** Runs build actions: CodeBuild in AWS, the built-in buildspec runner locally; without one a build action fails, saying so. */
  builds?: BuildService | undefined;
  /** Where groups' triggers send their notifications: SNS in AWS, the log locally; none, and nothing is sent. */
  triggers?: TriggerPublisher | undefined;
}
