import type { DeploymentGroup } from '../domain/deployment-group.js';
import type { FleetEvent } from '../domain/state-events.js';
import { codeDeployDetail, triggerEventsOf, triggerNotifications } from '../domain/triggers.js';
import { logger } from '../logger.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';

/** The groups a batch's events belong to, each read once per batch. */
export type GroupCache = Map<string, Promise<DeploymentGroup | undefined>>;

type TriggerDeps = Pick<PipelineDeps, 'groups' | 'deployments' | 'instanceDeployments' | 'triggers'>;

/** How many notifications could not be published, logged as a CloudWatch metric (embedded metric format) besides the error. */
function countFailures(failures: number): void {
  logger.warn('Trigger notifications were not published', {
    _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'Fleetline', Dimensions: [[]], Metrics: [{ Name: 'TriggerPublishFailures', Unit: 'Count' }] }] },
    TriggerPublishFailures: failures,
  });
}

async function notificationsOf(event: FleetEvent, deps: TriggerDeps, groups: GroupCache) {
  const detail = codeDeployDetail(event);
  if (!detail || triggerEventsOf(event).length === 0) return [];
  const key = `${detail.application}/${detail.deploymentGroup}`;
  if (!groups.has(key)) groups.set(key, deps.groups.get(detail.application, detail.deploymentGroup));
  const triggers = (await groups.get(key))?.triggerConfigurations ?? [];
  if (triggers.length === 0) return [];
  const deployment = await deps.deployments.get(detail.deploymentId);
  if (!deployment) return [];
  const instance = detail.instanceId === undefined ? undefined : await deps.instanceDeployments.get(detail.deploymentId, detail.instanceId);
  return triggerNotifications(event, triggers, deployment, instance);
}

/**
 * Sends the notifications of the group's triggers that chose these events (README, Triggers),
 * after the events are in the feed and on the bus. A notification that cannot be built or
 * published is logged and counted, never retried by the stream: the engine goes on. Returns
 * how many failed.
 */
export async function notifyTriggers(events: FleetEvent[], deps: TriggerDeps, groups: GroupCache = new Map()): Promise<number> {
  const publisher = deps.triggers;
  if (!publisher) return 0;
  let failures = 0;
  for (const event of events) {
    let notifications;
    try {
      notifications = await notificationsOf(event, deps, groups);
    } catch (error) {
      failures++;
      logger.error('Could not read what a trigger notification needs; it is not sent', { eventId: event.id, error: error as Error });
      continue;
    }
    for (const notification of notifications) {
      try {
        await publisher.publish(notification);
      } catch (error) {
        failures++;
        logger.error('Could not publish a trigger notification; it is not sent again', { eventId: event.id, topicArn: notification.topicArn, subject: notification.subject, error: error as Error });
      }
    }
  }
  if (failures > 0) countFailures(failures);
  return failures;
}
