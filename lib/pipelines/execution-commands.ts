import { TEXT_LIMITS, clip } from '../domain/execution-size.js';
import type { ActionState, Execution } from '../domain/pipeline.js';
import { approvalTimedOut, approvalTimeout } from '../domain/pipeline-step.js';
import { ConflictError } from '../errors.js';
import { requireExecution } from './execution-engine.js';
import type { PipelineDeps } from './pipeline-deps.js';

function runningAction(ex: Execution): { stage: number; action: number; state: ActionState } | undefined {
  const stage = ex.stages[ex.stageIndex];
  const action = stage?.actions.findIndex((a) => a.status === 'InProgress') ?? -1;
  return stage && action >= 0 ? { stage: ex.stageIndex, action, state: stage.actions[action] as ActionState } : undefined;
}

/**
 * Records the decision on the approval the execution is waiting on (the
 * approver and comment are kept); the worker moves the execution on from the
 * record. A retried request whose decision was recorded gets the same answer,
 * whether it finds it recorded when it reads the execution or when it writes.
 */
export async function decideApproval(
  executionId: string,
  decision: { approved: boolean; by: string; comment: string },
  deps: PipelineDeps,
): Promise<Execution> {
  const ex = await requireExecution(executionId, deps);
  const now = deps.clock.now().toISOString();
  const running = ex.status === 'InProgress' ? runningAction(ex) : undefined;
  if (!running || running.state.type !== 'approval') {
    // A retried request whose first attempt took effect: finish what it started and answer as it would have.
    if (decidedAlready(ex, decision)) return ex;
    const timedOut = timedOutApproval(ex);
    if (timedOut) throw pastDeadline(executionId, timedOut);
    throw new ConflictError(`Execution ${executionId} is not waiting for an approval (it is ${ex.status})`);
  }
  if (approvalTimedOut(running.state, now)) {
    // Against the clock, not the reconciler: the approval fails as of its deadline, and the worker moves the execution on.
    const timeoutMinutes = (ex.definition[running.stage]?.actions[running.action] as { timeoutMinutes?: number } | undefined)?.timeoutMinutes ?? 0;
    const stages = withAction(ex, running, approvalTimeout(running.state, timeoutMinutes));
    try {
      await deps.executions.save({ ...ex, stages, updatedAt: now });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // recorded meanwhile (the reconciler, another late decision)
    }
    throw pastDeadline(executionId, running.state);
  }
  const changes: Partial<ActionState> = {
    status: decision.approved ? 'Succeeded' : 'Failed',
    endedAt: now,
    decision: { ...decision, at: now },
    ...(decision.approved ? {} : { error: `Rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}` }),
  };
  try {
    return await deps.executions.save({ ...ex, stages: withAction(ex, running, changes), updatedAt: now });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // It changed meanwhile. A retry whose first attempt is still in flight, or that read the execution from before
    // that attempt's write, finds the same decision recorded: it gets that answer. Anything else is a conflict to retry.
    const current = await deps.executions.get(executionId, { consistent: true });
    if (current && decidedAlready(current, decision)) return current;
    throw error;
  }
}

function withAction(ex: Execution, at: { stage: number; action: number }, changes: Partial<ActionState>): Execution['stages'] {
  return ex.stages.map((s, k) => (k === at.stage ? { ...s, actions: s.actions.map((a, j) => (j === at.action ? { ...a, ...changes } : a)) } : s));
}

/** The approval of the execution's current stage that failed at its deadline, undecided, if any. */
function timedOutApproval(ex: Execution): ActionState | undefined {
  return ex.stages[ex.stageIndex]?.actions.find((a) => a.type === 'approval' && a.status === 'Failed' && !a.decision && a.deadline !== undefined && a.endedAt === a.deadline);
}

function pastDeadline(executionId: string, approval: ActionState): ConflictError {
  return new ConflictError(
    `The approval ${approval.name} of execution ${executionId} timed out at ${approval.deadline}: it can no longer be approved or rejected (retry the stage to ask again)`,
  );
}

/** Whether the execution holds an approval already decided exactly so (same principal, verdict and comment). */
function decidedAlready(ex: Execution, decision: { approved: boolean; by: string; comment: string }): boolean {
  const by = clip(decision.by, TEXT_LIMITS.principal);
  return ex.stages.some((s) =>
    s.actions.some((a) => a.decision && a.decision.approved === decision.approved && a.decision.by === by && a.decision.comment === decision.comment),
  );
}

/**
 * Records a stop: the execution ends Stopped and, when it had entered its
 * stage, frees the stage's slot in the same write. The worker asks the
 * stage's running deployment to stop and lets the next execution waiting
 * for the stage in. A retried request (same principal) gets the same answer.
 */
export async function stopExecution(executionId: string, by: string, deps: PipelineDeps): Promise<Execution> {
  const ex = await requireExecution(executionId, deps);
  if (ex.status === 'InProgress') return recordStop(ex, by, deps);
  if (ex.status !== 'Stopped' || ex.stoppedBy !== clip(by, TEXT_LIMITS.principal)) {
    throw new ConflictError(`Execution ${executionId} has already ended (${ex.status})`);
  }
  return ex;
}

async function recordStop(ex: Execution, by: string, deps: PipelineDeps): Promise<Execution> {
  const now = deps.clock.now().toISOString();
  const stages = ex.stages.map((s, k) =>
    k === ex.stageIndex
      ? {
          ...s,
          status: s.status === 'Pending' ? s.status : ('Stopped' as const),
          actions: s.actions.map((a) => (a.status === 'InProgress' ? { ...a, status: 'Stopped' as const, endedAt: now } : a)),
        }
      : s,
  );
  // In a stage, it holds the stage's slot: released with the stop itself.
  const entered = ex.stages[ex.stageIndex]?.status === 'InProgress';
  return deps.executions.save(
    { ...ex, stages, status: 'Stopped', waiting: false, endedAt: now, updatedAt: now, error: `Stopped by ${by}`, stoppedBy: by },
    entered ? { leaveStage: ex.stageIndex } : {},
  );
}

/**
 * Retries a failed stage where it failed: its failed actions run again, succeeded
 * ones are kept. Preflight runs again first (the bundle may have changed, or the
 * execution may have failed it). Recorded here; the worker runs it.
 */
export async function retryExecution(executionId: string, deps: PipelineDeps): Promise<Execution> {
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
  return deps.executions.save({ ...ex, stages, status: 'InProgress', endedAt: undefined, error: undefined, waiting: false, preflight: undefined, updatedAt: now });
}
