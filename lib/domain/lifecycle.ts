/** CodeDeploy's in-place lifecycle on EC2/on-premises instances. */

/** Run in this order on every instance. DownloadBundle and Install are the agent's own work. */
export const LIFECYCLE_EVENTS = [
  'ApplicationStop',
  'DownloadBundle',
  'BeforeInstall',
  'Install',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** Load-balancer events: valid in an appspec, recorded Skipped while no load balancer is configured. */
export const TRAFFIC_EVENTS = [
  'BeforeBlockTraffic',
  'BlockTraffic',
  'AfterBlockTraffic',
  'BeforeAllowTraffic',
  'AllowTraffic',
  'AfterAllowTraffic',
] as const;
export type TrafficEvent = (typeof TRAFFIC_EVENTS)[number];

/** Queued: waiting for its busy group (busyBehavior QUEUE, or an instance catching up); it starts, as Created, when the group frees. */
export const DEPLOYMENT_STATUSES = ['Queued', 'Created', 'InProgress', 'Succeeded', 'Failed', 'Stopped'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const INSTANCE_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped', 'Unknown'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export const EVENT_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export const ERROR_CODES = [
  'ScriptMissing',
  'ScriptNotExecutable',
  'ScriptTimedOut',
  'ScriptFailed',
  'BundleIntegrity',
  'UnknownError',
  'AgentLost',
  // Install under DISALLOW: the file is not Fleetline's, or another deployment group installed it.
  'FileExists',
  'FileOwnedByAnotherGroup',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const FINISHED_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['Succeeded', 'Failed', 'Stopped'];
export const FINISHED_INSTANCE_STATUSES: readonly InstanceStatus[] = ['Succeeded', 'Failed', 'Skipped', 'Unknown'];

export function isDeploymentFinished(status: DeploymentStatus): boolean {
  return FINISHED_DEPLOYMENT_STATUSES.includes(status);
}

/** The last bytes of hook output kept with an event (the full log goes to S3). */
export const OUTPUT_TAIL_BYTES = 4096;
