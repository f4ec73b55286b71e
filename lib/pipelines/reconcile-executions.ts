import { inTurn } from '../domain/in-turn.js';
import { logger } from '../logger.js';
import { advanceExecutionAndWaiters } from './execution-engine.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * Backstop for executions: approval timeouts, deploy actions whose group freed
 * up, records the stream gave up on. Each execution on its own (one that keeps
 * failing holds up no other), none begun once the pass is out of time, each
 * pass starting one further along the list. Returns how many are active.
 */
export async function reconcileExecutions(deps: PipelineDeps, outOfTime: () => boolean = () => false): Promise<number> {
  const active = await deps.executions.listActive();
  for (const { executionId } of inTurn(active, deps.clock.now().getTime())) {
    if (outOfTime()) break;
    try {
      await advanceExecutionAndWaiters(executionId, deps);
    } catch (error) {
      logger.error('Could not reconcile an execution', { executionId, error: error as Error });
    }
  }
  return active.length;
}
