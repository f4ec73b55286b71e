import { type DeploymentStatus, isDeploymentFinished } from '../../lib/domain/lifecycle.js';
import { waitFor } from '../../local/ports.js';

/** Reads a deployment until it has ended (or the deadline passes) and returns what was read last. */
export async function waitForDeploymentEnd<T extends { status: string }>(
  deploymentId: string,
  read: () => Promise<T>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  let deployment: T | undefined;
  await waitFor(
    `deployment ${deploymentId} to end`,
    async () => {
      deployment = await read();
      return isDeploymentFinished(deployment.status as DeploymentStatus);
    },
    { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 100 },
  );
  return deployment as T;
}
