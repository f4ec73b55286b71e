import type { OperationId } from './operations.js';

/**
 * The operations the web console calls, and so all that `fleetline console`
 * passes on with the person's credentials: reading the fleet, deployments and
 * pipelines, and the actions the screens offer. Issuing credentials, access
 * rules and the agents' routes are not among them.
 */
export const CONSOLE_OPERATIONS = [
  'listApplications',
  'listGroups',
  'listInstances',
  'listDeployments',
  'getDeployment',
  'listDeploymentInstances',
  'getDeploymentInstance',
  'getDeploymentInstanceLog',
  'stopDeployment',
  'redeployDeployment',
  'retryDeployment',
  'listPipelines',
  'listExecutions',
  'getExecution',
  'approveExecution',
  'rejectExecution',
  'stopExecution',
  'retryExecution',
] as const satisfies readonly OperationId[];

export type ConsoleOperation = (typeof CONSOLE_OPERATIONS)[number];

/** The header the console's page sends with each call: the token `fleetline console` printed in its address. */
export const CONSOLE_TOKEN_HEADER = 'x-fleetline-console-token';
