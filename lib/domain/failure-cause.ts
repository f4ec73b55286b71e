import type { EventRecord, InstanceDeployment } from './deployment.js';

/** Where a deployment first went wrong: the instance, its event and what the agent said. */
export interface FailureCause {
  instanceId: string;
  event?: string | undefined;
  errorCode?: string | undefined;
  exitCode?: number | undefined;
  /** The agent's message, which names the script ("check.sh exited with 1"). */
  message?: string | undefined;
}

export interface DeploymentError {
  code: string;
  message: string;
  cause?: FailureCause | undefined;
}

const failedEventOf = (instance: InstanceDeployment): EventRecord | undefined =>
  instance.events.find((e) => e.status === 'Failed') ??
  (instance.status === 'Unknown' ? instance.events.find((e) => e.status === 'InProgress') : undefined);

/** The instance that failed first (by end time, then ID) among those given, and its failed event. */
export function firstFailure(instances: readonly InstanceDeployment[]): FailureCause | undefined {
  const failed = instances
    .filter((i) => i.status === 'Failed' || i.status === 'Unknown')
    .sort((a, b) => (a.endedAt ?? '\uffff').localeCompare(b.endedAt ?? '\uffff') || a.instanceId.localeCompare(b.instanceId));
  const instance = failed[0];
  if (!instance) return undefined;
  const event = failedEventOf(instance);
  return {
    instanceId: instance.instanceId,
    event: event?.name,
    errorCode: event?.errorCode ?? (instance.status === 'Unknown' ? 'AgentLost' : undefined),
    exitCode: event?.exitCode ?? undefined,
    message: event?.message,
  };
}

/** One line a person can act on: "local-1 failed at ValidateService: check.sh exited with 1 (ScriptFailed, exit code 1)". */
export function describeFailure(cause: FailureCause): string {
  const where = cause.event ? `${cause.instanceId} failed at ${cause.event}` : `${cause.instanceId} failed`;
  const codes = [cause.errorCode, cause.exitCode !== undefined ? `exit code ${cause.exitCode}` : undefined].filter(Boolean).join(', ');
  return `${where}${cause.message ? `: ${cause.message}` : ''}${codes ? ` (${codes})` : ''}`;
}

/**
 * The error a deployment ends with when its health constraints fail: the
 * first failed instance's cause first (where the user looks), then the rule
 * that ended it.
 */
export function deploymentFailedError(reason: string, failedInstances: readonly InstanceDeployment[]): DeploymentError {
  const cause = firstFailure(failedInstances);
  return cause
    ? { code: 'HealthConstraints', message: `${describeFailure(cause)}. ${reason}`, cause }
    : { code: 'HealthConstraints', message: reason };
}
