import type { InstanceDeployment } from './deployment.js';

/**
 * When the reconciler must look at a running instance next: when its agent's
 * lease runs out, or when the event running now passes its deadline, if sooner.
 */
export function watchTime(instance: Pick<InstanceDeployment, 'events'>, leaseExpiresAt: string): string {
  const deadlines = instance.events.filter((e) => e.status === 'InProgress' && e.deadline).map((e) => e.deadline as string);
  return [leaseExpiresAt, ...deadlines].sort()[0] as string;
}

/**
 * The watch time to write, if any. Moving it rewrites the instance's entry in
 * the reconciler's index, which costs twice what the rest of the write does,
 * so it moves only when it must come earlier. One that comes too early costs a
 * look by the reconciler, which then moves it to when it is due; an instance
 * that ends before then never pays for the move.
 */
export function earlierWatch(stored: string | undefined, required: string): string | undefined {
  return stored === undefined || required < stored ? required : undefined;
}
