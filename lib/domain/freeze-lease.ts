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
 * died (the items it wrote are found and kept as targets, even when a stop
 * was asked for since, so that they are counted when the stop skips them).
 */
export function decideCreated(deployment: Pick<Deployment, 'stopRequested' | 'freezeLease'>, now: string): 'wait' | 'stop' | 'freeze' {
  if (deployment.freezeLease && deployment.freezeLease.until > now) return 'wait';
  if (deployment.stopRequested && !deployment.freezeLease) return 'stop';
  return 'freeze';
}
