import { FINISHED_INSTANCE_STATUSES } from '../domain/lifecycle.js';
import { LIVE_LOG, type LiveChunkAnswer, type LiveChunkRequest, type LiveLogAnswer, followLeaseIsDue, followSecondsLeft } from '../domain/live-log.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { afterCheck, authorizeAgent } from './agent-protocol.js';
import { type EngineDeps, plusSeconds } from './engine-deps.js';

/**
 * A follower's read of one instance deployment's live log (docs/live-logs.md):
 * the chunks after its cursor. With `follow`, while the instance has not ended,
 * the read also holds the follower lease — written when none is held or half of
 * it is gone, and each write makes the worker push `follow` to the agent. The
 * caller's grant (deployments:get, as for the full log) is checked by the route.
 */
export async function readLiveLog(
  deploymentId: string,
  instanceId: string,
  query: { cursor: number; follow: boolean },
  deps: Pick<EngineDeps, 'instanceDeployments' | 'liveLogs' | 'clock'>,
): Promise<LiveLogAnswer> {
  // The status is read before the chunks: an agent sends its last chunk before the report that ends the
  // instance, so an answer saying `ended` holds every chunk there will ever be.
  const instance = await deps.instanceDeployments.get(deploymentId, instanceId);
  if (!instance) throw new NotFoundError(`Instance ${instanceId} is not a target of deployment ${deploymentId}`);
  const ended = FINISHED_INSTANCE_STATUSES.includes(instance.status);
  if (query.follow && !ended) {
    const now = deps.clock.now();
    if (followLeaseIsDue(await deps.liveLogs.followUntil(deploymentId, instanceId), now)) {
      await deps.liveLogs.follow(deploymentId, instanceId, plusSeconds(now, LIVE_LOG.followSeconds));
    }
  }
  const { chunks, more } = await deps.liveLogs.after(deploymentId, instanceId, query.cursor, LIVE_LOG.maxChunksPerRead);
  return {
    deploymentId,
    instanceId,
    instanceStatus: instance.status,
    chunks,
    cursor: chunks.at(-1)?.seq ?? query.cursor,
    more,
    ended,
    pollAfterMs: ended || more ? 0 : LIVE_LOG.pollAfterMs,
  };
}

/**
 * One chunk from an agent: taken only from the instance's own agent, for the
 * assignment it is running (dispatched, acknowledged, not ended), and only
 * while someone follows — with nobody following nothing is written and the
 * answer tells the agent to stop.
 */
export async function appendLiveChunk(callerArn: string, chunk: LiveChunkRequest, deps: EngineDeps): Promise<LiveChunkAnswer> {
  const { deploymentId, instanceId } = chunk;
  const reading = afterCheck(deps.instanceDeployments.get(deploymentId, instanceId));
  const lease = afterCheck(deps.liveLogs.followUntil(deploymentId, instanceId));
  await authorizeAgent(callerArn, instanceId, deps);
  const instance = await reading;
  if (!instance) throw new NotFoundError(`Instance ${instanceId} is not a target of deployment ${deploymentId}`);
  if (instance.status !== 'InProgress' || !instance.acknowledgedAt) {
    throw new ConflictError(`Instance ${instanceId} is not running deployment ${deploymentId} (instance ${instance.status}${instance.acknowledgedAt ? '' : ', not picked up'}): its output is not taken`);
  }
  const now = deps.clock.now();
  const followSeconds = followSecondsLeft(await lease, now);
  if (followSeconds === 0) return { following: false, followSeconds: 0 };
  await deps.liveLogs.append(deploymentId, instanceId, { seq: chunk.seq, text: chunk.text, at: now.toISOString() });
  return { following: true, followSeconds };
}
