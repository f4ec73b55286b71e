import type { DeploymentConfig } from './deployment-config.js';

/**
 * CodeDeploy's minimum-healthy-hosts rules, turned into one host count at creation.
 *
 * - HOST_COUNT n: n. FLEET_PERCENT p: ceil(p% of the fleet).
 * - AllAtOnce = 0 %, HalfAtATime = 50 %.
 * - OneAtATime = fleet − 1 hosts (CodeDeploy documents it as 99 %, but rounding 99 %
 *   up would equal the fleet and fail at once; CodeDeploy instead takes one host
 *   offline at a time and lets the deployment succeed when only the last instance
 *   fails). So does Fleetline: any failure but the last one stops the rollout.
 */
export function minimumHealthyHosts(config: DeploymentConfig, fleetSize: number): number {
  if (config === 'AllAtOnce') return 0;
  if (config === 'OneAtATime') return Math.max(0, fleetSize - 1);
  const rule = config === 'HalfAtATime' ? { type: 'FLEET_PERCENT' as const, value: 50 } : config.minimumHealthyHosts;
  return rule.type === 'HOST_COUNT' ? rule.value : Math.ceil((rule.value * fleetSize) / 100);
}

/** Why a deployment cannot even start, or undefined when it can. */
export function unsatisfiableReason(fleetSize: number, minimum: number): string | undefined {
  if (fleetSize === 0) return undefined; // handled as "no targets"
  if (minimum >= fleetSize) {
    return `The deployment config needs ${minimum} healthy instance(s) at all times, but the deployment targets only ${fleetSize}: no instance could ever be taken offline`;
  }
  return undefined;
}

/** Instance counts of one deployment. `offline` = in progress + failed + unknown (hosts not serving). */
export interface InstanceCounts {
  pending: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  skipped: number;
  unknown: number;
}

export function emptyCounts(pending = 0): InstanceCounts {
  return { pending, inProgress: 0, succeeded: 0, failed: 0, skipped: 0, unknown: 0 };
}

export function offlineHosts(c: InstanceCounts): number {
  return c.inProgress + c.failed + c.unknown;
}

export type RolloutDecision =
  | { kind: 'dispatch'; count: number }
  | { kind: 'wait' }
  | { kind: 'succeed' }
  | { kind: 'fail'; reason: string };

/**
 * What to do next, given the counts. Hosts are healthy unless in progress,
 * failed or unknown; a batch may take hosts offline while healthy − batch ≥ minimum.
 */
export function decideRollout(fleetSize: number, minimum: number, c: InstanceCounts): RolloutDecision {
  const required = Math.max(minimum, 1);
  const bad = c.failed + c.unknown;
  if (c.succeeded + c.inProgress + c.pending < required) {
    return {
      kind: 'fail',
      reason: `${bad} instance(s) failed: at most ${c.succeeded + c.inProgress + c.pending} can succeed, ${required} must`,
    };
  }
  if (c.pending === 0 && c.inProgress === 0) {
    return c.succeeded >= required
      ? { kind: 'succeed' }
      : { kind: 'fail', reason: `${c.succeeded} instance(s) succeeded; ${required} must` };
  }
  const room = fleetSize - offlineHosts(c) - minimum;
  if (c.pending > 0 && room > 0) return { kind: 'dispatch', count: Math.min(room, c.pending) };
  if (c.inProgress === 0) {
    return {
      kind: 'fail',
      reason: `${bad} instance(s) failed: no further instance can be taken offline while keeping ${minimum} healthy`,
    };
  }
  return { kind: 'wait' };
}
