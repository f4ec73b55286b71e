import type { Deployment } from '../domain/deployment.js';
import type { EngineDeps } from './engine.js';

const PAGE = 990;
const LANES = 4;

/**
 * After a deployment ended, every instance that never started ends Skipped:
 * the pending ones (counted skipped in one write, then their items updated
 * side by side), and those handed out but never picked up by their agent
 * (their assignment withdrawn, 49 per transaction). Returns how many
 * instances it skipped.
 */
export async function windDown(deployment: Deployment, deps: EngineDeps): Promise<number> {
  const now = deps.clock.now().toISOString();
  const id = deployment.deploymentId;
  let skipped = 0;
  // The counters move first, in one write; then each pending item, many at a time, with no transaction
  // on the deployment item. Until the last one is done the deployment stays on the active list.
  if (deployment.counts.pending > 0) await deps.deployments.countPendingAsSkipped(id);
  for (;;) {
    const ids = await deps.instanceDeployments.pendingCandidates(id, PAGE);
    if (ids.length === 0) break;
    const done = (await deps.instanceDeployments.skipCounted(id, ids, now)).length;
    skipped += done;
    if (done === 0) break; // only stale index entries are left
  }
  if (deployment.counts.inProgress > 0) {
    const running = await deps.instanceDeployments.runningIds(id);
    skipped += await inLanes(running, 49, (part) => deps.instanceDeployments.skipMany(id, part, 'unacknowledged', now));
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
