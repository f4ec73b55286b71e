import { lapsed } from '../domain/agent-presence.js';
import { skipRemaining } from '../domain/agent-report.js';
import type { Deployment, EventRecord, InstanceDeployment } from '../domain/deployment.js';
import type { ErrorCode } from '../domain/lifecycle.js';
import { watchTime } from '../domain/watch-time.js';
import { ConflictError } from '../errors.js';
import { logger } from '../logger.js';
import type { EngineDeps } from './engine-deps.js';

export type Verdict = 'timedOut' | 'lost' | 'neverStarted';

/** Instances expired side by side: each is its own conditional write, and their counter updates contend on the deployment. */
const EXPIRY_LANES = 4;

/** Dispatched work not picked up after this long is pushed again, on every pass until the start timeout. */
export const rewakeAfterSeconds = (startTimeoutSeconds: number) => Math.ceil(startTimeoutSeconds / 3);

/**
 * Ends the instances of a deployment that stopped moving: hook deadlines
 * passed, agent leases expired, work nobody picked up. Every write is
 * conditional, so it may race reports and itself. Work dispatched but not yet
 * picked up is pushed to its agent again: a lost wake-up costs a minute or
 * two, not the agent's (long) safety poll.
 */
export async function expireDue(deployment: Deployment, deps: EngineDeps, outOfTime: () => boolean = () => false): Promise<Verdict[]> {
  const now = deps.clock.now();
  const verdicts: Verdict[] = [];
  const waiting: string[] = [];
  const due = await deps.instanceDeployments.due(deployment.deploymentId, now.toISOString());
  // A mass expiry (a zone gone dark) is thousands of instances: a few at a time, each on its own, and
  // none begun once the pass is out of time (the next pass finds the rest still due).
  let next = 0;
  const lane = async () => {
    while (next < due.length && !outOfTime()) {
      const instanceId = due[next++] as string;
      const verdict = await expire(deployment, instanceId, now, deps);
      if (verdict === 'waiting') waiting.push(instanceId);
      else if (verdict) verdicts.push(verdict);
    }
  };
  await Promise.all(Array.from({ length: Math.min(EXPIRY_LANES, due.length) }, lane));
  if (waiting.length > 0 && deployment.status === 'InProgress' && !deployment.stopRequested) {
    await deps.notifier?.wake(waiting, 'dispatch');
    logger.info('Work not picked up pushed again', { deploymentId: deployment.deploymentId, instances: waiting.length });
  }
  return verdicts;
}

function judge(instance: InstanceDeployment, now: Date, startTimeoutSeconds: number): { verdict: Verdict; code: ErrorCode; message: string } | undefined {
  const at = now.getTime();
  if (!instance.acknowledgedAt) {
    const since = Date.parse(instance.dispatchedAt ?? '');
    if (at - since >= startTimeoutSeconds * 1000) {
      return { verdict: 'neverStarted', code: 'AgentLost', message: `The agent did not pick up the deployment within ${startTimeoutSeconds} s` };
    }
    return undefined;
  }
  const running = instance.events.find((e) => e.status === 'InProgress');
  if (running?.deadline && Date.parse(running.deadline) <= at) {
    return { verdict: 'timedOut', code: 'ScriptTimedOut', message: `${running.name} ran past its timeout` };
  }
  if (lapsed(instance.leaseExpiresAt, now)) {
    return { verdict: 'lost', code: 'AgentLost', message: 'The agent stopped reporting (lease expired)' };
  }
  return undefined;
}

/** When an instance that is not due yet will be: undefined for dispatched work the reconciler should push again now. */
function notDueUntil(instance: InstanceDeployment, now: Date, startTimeoutSeconds: number): string | undefined {
  if (instance.acknowledgedAt) return watchTime(instance, instance.leaseExpiresAt ?? now.toISOString());
  const rewakeAt = Date.parse(instance.dispatchedAt ?? '') + rewakeAfterSeconds(startTimeoutSeconds) * 1000;
  return rewakeAt > now.getTime() ? new Date(rewakeAt).toISOString() : undefined;
}

async function expire(deployment: Deployment, instanceId: string, now: Date, deps: EngineDeps): Promise<Verdict | 'waiting' | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const instance = await deps.instanceDeployments.get(deployment.deploymentId, instanceId);
    if (!instance || instance.status !== 'InProgress') return undefined;
    const found = judge(instance, now, deps.timings.startTimeoutSeconds);
    const iso = now.toISOString();
    if (!found) {
      const nextLook = notDueUntil(instance, now, deps.timings.startTimeoutSeconds);
      if (!nextLook) return 'waiting';
      // Looked at before it was due (its watch time only ever moves earlier on its own): next time, when it is.
      try {
        await deps.instanceDeployments.update(instance, { events: instance.events, now: iso, watchAt: nextLook });
        return undefined;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        continue;
      }
    }
    const failCurrent = (e: EventRecord, i: number, all: EventRecord[]): EventRecord => {
      const isCurrent = e.status === 'InProgress' || (e.status === 'Pending' && all.slice(0, i).every((p) => p.status !== 'Pending' && p.status !== 'InProgress'));
      return isCurrent ? { ...e, status: 'Failed', endedAt: iso, errorCode: found.code, message: found.message, deadline: undefined } : e;
    };
    try {
      await deps.instanceDeployments.update(instance, {
        events: skipRemaining(instance.events.map(failCurrent)),
        transition: found.verdict === 'lost' ? 'Unknown' : 'Failed',
        now: iso,
      });
      logger.warn('Instance expired', { deploymentId: deployment.deploymentId, instanceId, verdict: found.verdict });
      return found.verdict;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // a report raced us: judge the new state
    }
  }
  return undefined;
}
