import type { ActionState, Execution } from '../domain/pipeline.js';
import { stopDeployment } from '../deployments/stop-deployment.js';
import { ConflictError } from '../errors.js';
import { admitWaiters, advanceExecution, leaveStage, requireExecution } from './execution-engine.js';
import type { PipelineDeps } from './pipeline-deps.js';

function runningAction(ex: Execution): { stage: number; action: number; state: ActionState } | undefined {
  const stage = ex.stages[ex.stageIndex];
  const action = stage?.actions.findIndex((a) => a.status === 'InProgress') ?? -1;
  return stage && action >= 0 ? { stage: ex.stageIndex, action, state: stage.actions[action] as ActionState } : undefined;
}

/** Approves or rejects the approval the execution is waiting on; the approver and comment are kept. */
export async function decideApproval(
  executionId: string,
  decision: { approved: boolean; by: string; comment: string },
  deps: PipelineDeps,
): Promise<Execution | undefined> {
  const ex = await requireExecution(executionId, deps);
  const running = ex.status === 'InProgress' ? runningAction(ex) : undefined;
  if (!running || running.state.type !== 'approval') {
    throw new ConflictError(`Execution ${executionId} is not waiting for an approval (it is ${ex.status})`);
  }
  const now = deps.clock.now().toISOString();
  const changes: Partial<ActionState> = {
    status: decision.approved ? 'Succeeded' : 'Failed',
    endedAt: now,
    decision: { ...decision, at: now },
    ...(decision.approved ? {} : { error: `Rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}` }),
  };
  const stages = ex.stages.map((s, k) =>
    k === running.stage ? { ...s, actions: s.actions.map((a, j) => (j === running.action ? { ...a, ...changes } : a)) } : s,
  );
  await deps.executions.save({ ...ex, stages, updatedAt: now }); // ConflictError if it changed meanwhile: the caller retries
  return advanceExecution(executionId, deps);
}

/** Stops an execution: its stage slot is freed and a running deployment is stopped too. */
export async function stopExecution(executionId: string, by: string, deps: PipelineDeps): Promise<Execution> {
  const ex = await requireExecution(executionId, deps);
  if (ex.status !== 'InProgress') throw new ConflictError(`Execution ${executionId} has already ended (${ex.status})`);
  const now = deps.clock.now().toISOString();
  const running = runningAction(ex);
  const stages = ex.stages.map((s, k) =>
    k === ex.stageIndex
      ? {
          ...s,
          status: s.status === 'Pending' ? s.status : ('Stopped' as const),
          actions: s.actions.map((a) => (a.status === 'InProgress' ? { ...a, status: 'Stopped' as const, endedAt: now } : a)),
        }
      : s,
  );
  // In a stage, it holds the stage's slot: released with the stop itself. Waiting, it may hold it only if a crash came between taking it and entering.
  const entered = ex.stages[ex.stageIndex]?.status === 'InProgress';
  const saved = await deps.executions.save(
    { ...ex, stages, status: 'Stopped', waiting: false, endedAt: now, updatedAt: now, error: `Stopped by ${by}` },
    entered ? { leaveStage: ex.stageIndex } : {},
  );
  if (running?.state.deploymentId) {
    await stopDeployment(running.state.deploymentId, { by }, deps).catch((error) => {
      if (!(error instanceof ConflictError)) throw error; // it had ended already
    });
  }
  if (entered) await admitWaiters(ex.pipeline, ex.stageIndex, deps);
  else await leaveStage(ex, ex.stageIndex, deps);
  return saved;
}

/**
 * Retries a failed stage where it failed: its failed actions run again, succeeded
 * ones are kept. Preflight runs again first (the bundle may have changed, or the
 * execution may have failed it).
 */
export async function retryExecution(executionId: string, deps: PipelineDeps): Promise<Execution | undefined> {
  const ex = await requireExecution(executionId, deps);
  if (ex.status !== 'Failed') throw new ConflictError(`Only a failed execution can be retried; ${executionId} is ${ex.status}`);
  const now = deps.clock.now().toISOString();
  const stages = ex.stages.map((s, k) =>
    k === ex.stageIndex
      ? {
          ...s,
          status: 'Pending' as const,
          endedAt: undefined,
          actions: s.actions.map((a) =>
            a.status === 'Succeeded'
              ? a
              : { name: a.name, type: a.type, status: 'Pending' as const, attempt: (a.attempt ?? 0) + 1 },
          ),
        }
      : s,
  );
  await deps.executions.markActive(ex.executionId, ex.pipeline);
  // preflight: undefined — the revision is checked again before anything is deployed.
  await deps.executions.save({ ...ex, stages, status: 'InProgress', endedAt: undefined, error: undefined, waiting: false, preflight: undefined, updatedAt: now });
  return advanceExecution(executionId, deps);
}
