import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { FleetEvent } from '../domain/state-events.js';
import { logger } from '../logger.js';
import { advanceExecutionAndWaiters } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import { advanceDeployment } from './advance-deployment.js';
import { type GroupCache, notifyTriggers } from './notify-triggers.js';
import { type DeploymentCache, recordEvents } from './record-events.js';
import { deploymentIdOf, executionIdOf, instanceTagsChangeOf, liveFollowOf } from './stream-records.js';
import { allGroups, catchUpRegistered } from '../deployments/catch-up.js';
import type { DeploymentGroup } from '../domain/deployment-group.js';

/** Events published in one go (PutEvents takes 10). */
const PUBLISH_BATCH = 10;

const failure = (record: DynamoDBRecord): DynamoDBBatchResponse => ({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] });

/**
 * The worker: for each stream record, first the events its state change makes, written
 * to the feed once (README, Events); then, for each deployment or pipeline execution a
 * batch touches, moves it on once (every record was written before the batch was read, so
 * one pass over the current state covers them all). An event newly written to the feed is
 * published (EventBridge in AWS) from its own record: a publish that fails is that record's
 * failure, and it is published again when the stream hands it back (at least once).
 * Once published, the group's triggers that chose it send their notifications (SNS): a
 * notification that fails is logged and counted, never a record's failure, so the engine
 * goes on; one sent may be sent again only if the worker dies before the stream moves on.
 * A registered instance whose tags changed catches up with each group it now matches (lib/deployments/catch-up.ts).
 * On a failure, the failed record is reported (ReportBatchItemFailures) and the stream
 * hands it, and what follows it, back later; records before it are not replayed.
 */
export function createStreamHandler(deps: PipelineDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const done = new Set<string>();
    const deployments: DeploymentCache = new Map();
    const triggerGroups: GroupCache = new Map();
    const unpublished: { event: FleetEvent; record: DynamoDBRecord }[] = [];
    /** Every deployment group, read once per batch and only when an instance's tags changed. */
    let groups: Promise<DeploymentGroup[]> | undefined;
    /** Publishes what is waiting; the first of them, on a failure, is the record the stream hands back. */
    const publish = async (): Promise<DynamoDBRecord | undefined> => {
      const waiting = unpublished.splice(0);
      if (waiting.length === 0) return undefined;
      if (deps.publisher) {
        try {
          await deps.publisher.publish(waiting.map((w) => w.event));
        } catch (error) {
          logger.error('Could not publish events; the stream will hand them back', { count: waiting.length, error: error as Error });
          return waiting[0]?.record;
        }
      }
      // Notified only once on the bus: a record handed back for the bus notifies on its next pass, not twice.
      await notifyTriggers(waiting.map((w) => w.event), deps, triggerGroups);
      return undefined;
    };
    for (const record of event.Records ?? []) {
      const follow = liveFollowOf(record);
      if (follow) {
        // Someone follows this instance's log: its agent streams while the lease lasts (a lapsed one pushes nothing).
        if (Date.parse(follow.until) > deps.clock.now().getTime()) await deps.notifier?.wake([follow.instanceId], 'follow', follow.deploymentId);
        continue;
      }
      let recorded;
      try {
        recorded = deps.events.changeOf(record);
      } catch (error) {
        logger.error('A stream record could not be read; the stream will retry', { eventID: record.eventID, error: error as Error });
        return failure(record);
      }
      if (recorded?.change.kind === 'event') {
        if (deps.publisher || deps.triggers) unpublished.push({ event: recorded.change.event, record });
        const failed = unpublished.length >= PUBLISH_BATCH ? await publish() : undefined;
        if (failed) return failure(failed);
        continue;
      }
      const failed = await publish();
      if (failed) return failure(failed);
      const tagged = instanceTagsChangeOf(record);
      if (tagged) {
        // An instance that now matches a group after its last success catches up (lib/deployments/catch-up.ts).
        try {
          await catchUpRegistered(tagged, await (groups ??= allGroups(deps)), deps);
        } catch (error) {
          logger.error('Could not catch an instance up; the stream will retry', { instanceId: tagged.instanceId, error: error as Error });
          return failure(record);
        }
        continue;
      }
      const deploymentId = deploymentIdOf(record);
      const executionId = deploymentId ? undefined : executionIdOf(record);
      const id = deploymentId ?? executionId;
      try {
        if (recorded) await recordEvents(recorded, deps, deployments);
        if (!id || done.has(id)) continue;
        if (deploymentId) await advanceDeployment(deploymentId, deps);
        else if (executionId) await advanceExecutionAndWaiters(executionId, deps);
        done.add(id);
      } catch (error) {
        logger.error('Could not move a deployment or execution on; the stream will retry', { deploymentId, executionId, error: error as Error });
        return failure(record);
      }
    }
    const failed = await publish();
    return failed ? failure(failed) : { batchItemFailures: [] };
  };
}
