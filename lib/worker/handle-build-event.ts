import { buildSeenFromEvent } from '../domain/build.js';
import { logger } from '../logger.js';
import { BUILD_CONTEXT_VARIABLES, advanceExecutionAndWaiters } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';

/** EventBridge's detail-type for CodeBuild's build state changes. */
export const BUILD_STATE_CHANGE = 'CodeBuild Build State Change';

/** The part of an EventBridge event the handler reads. */
export interface BuildStateChangeEvent {
  source?: string;
  'detail-type'?: string;
  detail?: unknown;
}

/**
 * CodeBuild's "Build State Change" event (EventBridge, in AWS; the local
 * runner sends the same shape): the build's end moves its execution on. The
 * event names the execution through the variables the build was started with,
 * and only wakes it: the engine records the outcome only when the event's
 * build is the one its action started (anyone who may start builds of the
 * project could send a look-alike), and otherwise reads the action's own build
 * (BatchGetBuilds, the reconciler's backstop too). A failure is thrown, so the
 * invocation is retried; the reconciler finishes what a lost event leaves.
 */
export function createBuildEventHandler(deps: PipelineDeps) {
  return async (event: BuildStateChangeEvent): Promise<void> => {
    if (event['detail-type'] !== BUILD_STATE_CHANGE) {
      logger.warn('Not a CodeBuild build state change; dropped', { detailType: event['detail-type'] });
      return;
    }
    const seen = buildSeenFromEvent(event.detail);
    const executionId = seen?.variables[BUILD_CONTEXT_VARIABLES.execution];
    if (!seen || !executionId || !/^e-[0-9a-f]{16}$/.test(executionId)) {
      logger.info('A build state change that is not a Fleetline build action; dropped', { buildId: seen?.buildId });
      return;
    }
    if (seen.status === 'IN_PROGRESS') return;
    const { variables: _variables, project: _project, ...build } = seen;
    await advanceExecutionAndWaiters(executionId, deps, { build });
    logger.info('Build ended', { executionId, buildId: seen.buildId, status: seen.status });
  };
}
