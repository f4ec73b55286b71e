import { runningEc2InstanceOf } from '../domain/catch-up.js';
import { allGroups, catchUpEc2, type CatchUpOutcome } from '../deployments/catch-up.js';
import type { EngineDeps } from '../deployments/engine-deps.js';
import { logger } from '../logger.js';

/**
 * EventBridge's "EC2 Instance State-change Notification" for `running` (a rule in
 * serverless.yml sends it to the worker): the instance catches up with each group
 * whose EC2 tag set it matches (lib/deployments/catch-up.ts). Anything else is
 * ignored. A failure throws, and Lambda retries the event; a retry creates nothing
 * twice (the catch-up's idempotency token).
 */
export function createInstanceRunningHandler(deps: EngineDeps) {
  return async (event: unknown): Promise<{ instanceId?: string; outcomes: CatchUpOutcome[] }> => {
    const instanceId = runningEc2InstanceOf(event);
    if (!instanceId) {
      logger.warn('Not an EC2 instance entering running: ignored');
      return { outcomes: [] };
    }
    const outcomes = await catchUpEc2(instanceId, await allGroups(deps), deps);
    logger.info('EC2 instance running: catch-up looked at', { instanceId, outcomes });
    return { instanceId, outcomes };
  };
}
