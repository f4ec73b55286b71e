import type { Deployment } from './deployment.js';

/**
 * Freezing a deployment's targets (resolving them and writing one item per
 * instance) is the work of one worker at a time, under a lease on the
 * deployment. A stop waits for it: a deployment ended while a worker still
 * writes its items could neither count nor keep skipped the items written
 * after. The lease outlasts the longest invocation that may hold it (the
 * worker's timeout, which a test checks against serverless.yml), so once it
 * has run out its holder is dead and writes nothing more.
 */
export const FREEZE_LEASE_SECONDS = 150;

export interface FreezeLease {
  token: string;
  /** ISO time the holder's invocation is over by. */
  until: string;
}

/**
 * What a Created deployment needs next. `wait`: a live worker is freezing it
 * (a stop is carried out once the freeze is done). `stop`: stopped before any
 * worker began, so no item exists. `freeze`: nobody holds it, or its holder
 * died (the items it wrote are found and kept as targets; when a stop was
 * asked for since, they are all the targets, counted when the stop skips them).
 */
export function decideCreated(deployment: Pick<Deployment, 'stopRequested' | 'freezeLease'>, now: string): 'wait' | 'stop' | 'freeze' {
  if (deployment.freezeLease && deployment.freezeLease.until > now) return 'wait';
  if (deployment.stopRequested && !deployment.freezeLease) return 'stop';
  return 'freeze';
}

/** How long a deployment may stay Created while its targets cannot be resolved for a passing reason (EC2 or STS throttled or down). */
export const TARGET_RESOLUTION_GRACE_SECONDS = 900;

/**
 * After resolving a deployment's targets failed: `fail` it when the cause
 * lasts (a role, a permission or a region to fix: trying again cannot help)
 * or a passing cause has lasted the grace period since it was created; else
 * `retry` (the next worker, once the lease has run out).
 */
export function afterResolutionFailure(createdAt: string, now: string, lasting: boolean): 'retry' | 'fail' {
  if (lasting) return 'fail';
  return Date.parse(now) - Date.parse(createdAt) >= TARGET_RESOLUTION_GRACE_SECONDS * 1000 ? 'fail' : 'retry';
}
