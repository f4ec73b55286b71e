import type { Deployment } from '../domain/deployment.js';
import { isDeploymentFinished } from '../domain/lifecycle.js';
import { ConflictError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';

const LANES = 4;

/**
 * After a deployment ended, every instance that never started ends Skipped:
 * the pending ones (counted skipped in one write, then their items rewritten
 * many per request), and those handed out but never picked up by their agent
 * (their assignment withdrawn, 49 per transaction). Returns how many
 * instances it skipped. Runs only once the deployment's reserved batches are
 * dispatched or given back (advanceDeployment sees to that).
 */
export async function windDown(deployment: Deployment, deps: EngineDeps): Promise<number> {
  // Only then is a pending instance out of every other writer's reach.
  if (!isDeploymentFinished(deployment.status) || deployment.openBatches?.length) {
    throw new ConflictError(`Deployment ${deployment.deploymentId} must have ended with no reserved batch left before its instances are skipped`);
  }
  const now = deps.clock.now().toISOString();
  const id = deployment.deploymentId;
  let skipped = 0;
  // The counters move first, in one write. From then on no dispatch can take a pending instance (the
  // deployment has ended and holds no reserved batch), so the items are rewritten without conditions.
  // Until none is left the deployment stays on the active list.
  if (deployment.counts.pending > 0) await deps.deployments.countPendingAsSkipped(id);
  if ((await deps.instanceDeployments.pendingCandidates(id, 1)).length > 0) {
    skipped += await deps.instanceDeployments.skipCountedPending(id, now);
  }
  if (deployment.counts.inProgress > 0) {
    const running = await deps.instanceDeployments.runningIds(id);
    skipped += await inLanes(running, 49, (part) => deps.instanceDeployments.skipUnacknowledged(id, part, now));
    // Agents running a hook learn of the end at once instead of at their next check-in.
    await deps.notifier?.wake(running, 'stop', id);
  }
  return skipped;
}

async function inLanes(ids: string[], size: number, run: (part: string[]) => Promise<string[]>): Promise<number> {
  const parts: string[][] = [];
  for (let i = 0; i < ids.length; i += size) parts.push(ids.slice(i, i + size));
  let done = 0;
  let next = 0;
  const lane = async () => {
    while (next < parts.length) done += (await run(parts[next++] as string[])).length;
  };
  await Promise.all(Array.from({ length: Math.min(LANES, parts.length) }, lane));
  return done;
}
