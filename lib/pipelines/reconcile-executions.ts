import { advanceExecution } from './execution-engine.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** Backstop for executions: approval timeouts, deploy actions whose group freed up, lost notifications. */
export async function reconcileExecutions(deps: PipelineDeps): Promise<number> {
  const active = await deps.executions.listActive();
  for (const { executionId } of active) await advanceExecution(executionId, deps);
  return active.length;
}
