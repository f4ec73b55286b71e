import { type DeploymentOf, type FleetEvent, deploymentEvents, executionEvents, instanceEventState, instanceEvents } from '../domain/state-events.js';
import { logger } from '../logger.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import type { RecordedChange } from '../ports.js';

/** The deployments a batch's instance changes belong to, each read once per batch. */
export type DeploymentCache = Map<string, Promise<DeploymentOf | undefined>>;

async function eventsOf(recorded: RecordedChange, deps: PipelineDeps, cache: DeploymentCache): Promise<FleetEvent[]> {
  const { change, origin } = recorded;
  switch (change.kind) {
    case 'deployment':
      return deploymentEvents(origin, change.before, change.after);
    case 'execution':
      return executionEvents(origin, change.before, change.after);
    case 'instance': {
      if (!instanceEventState(change.before, change.after)) return [];
      const id = change.after.deploymentId;
      if (!cache.has(id)) cache.set(id, deps.deployments.get(id));
      const deployment = await cache.get(id);
      if (!deployment) {
        logger.warn('An instance changed in a deployment that is not recorded; no event for it', { deploymentId: id, instanceId: change.after.instanceId });
        return [];
      }
      return instanceEvents(origin, deployment, change.before, change.after);
    }
    case 'event':
      return [];
  }
}

/**
 * Writes the events a state change makes to the feed, each at a position the change fixes
 * (its time and place in the stream, then its index), once: a replayed record writes nothing new.
 */
export async function recordEvents(recorded: RecordedChange, deps: PipelineDeps, cache: DeploymentCache): Promise<number> {
  const events = await eventsOf(recorded, deps, cache);
  if (events.length === 0) return 0;
  await deps.events.record(events.map((event, i) => ({ event, position: `${recorded.position}#${String(i).padStart(3, '0')}` })));
  return events.length;
}
