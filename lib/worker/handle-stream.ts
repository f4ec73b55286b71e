import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../logger.js';
import { advanceExecutionAndWaiters } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import { advanceDeployment } from './advance-deployment.js';
import { deploymentIdOf, executionIdOf, liveFollowOf } from './stream-records.js';

/**
 * The worker: for each deployment or pipeline execution a batch of stream
 * records touches, moves it on once (every record was written before the batch was read, so one pass
 * over the current state covers them all). On a failure, the failed record is
 * reported (ReportBatchItemFailures) and the stream hands it, and what follows
 * it, back later; records before it are not replayed.
 */
export function createStreamHandler(deps: PipelineDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const done = new Set<string>();
    for (const record of event.Records ?? []) {
      const follow = liveFollowOf(record);
      if (follow) {
        // Someone follows this instance's log: its agent streams while the lease lasts (a lapsed one pushes nothing).
        if (Date.parse(follow.until) > deps.clock.now().getTime()) await deps.notifier?.wake([follow.instanceId], 'follow', follow.deploymentId);
        continue;
      }
      const deploymentId = deploymentIdOf(record);
      const executionId = deploymentId ? undefined : executionIdOf(record);
      const id = deploymentId ?? executionId;
      if (!id || done.has(id)) continue;
      try {
        if (deploymentId) await advanceDeployment(deploymentId, deps);
        else if (executionId) await advanceExecutionAndWaiters(executionId, deps);
        done.add(id);
      } catch (error) {
        logger.error('Could not move a deployment or execution on; the stream will retry', { deploymentId, executionId, error: error as Error });
        return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
      }
    }
    return { batchItemFailures: [] };
  };
}
