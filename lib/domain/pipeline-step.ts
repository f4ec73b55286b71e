import type { DeploymentStatus } from './lifecycle.js';
import { isDeploymentFinished } from './lifecycle.js';
import type { ActionState, Execution } from './pipeline.js';

/** Where in an execution a step acts: stage `stage`, action `action`. */
export interface ActionRef {
  stage: number;
  action: number;
}

/** What the deployment of a running deploy action has come to, when the engine read it. */
export interface DeploymentSeen {
  deploymentId: string;
  status: DeploymentStatus;
  message?: string | undefined;
}

export type PipelineStep =
  /** Every stage done: the execution succeeds. */
  | { kind: 'succeed' }
  /** The revision has not been checked yet. */
  | { kind: 'preflight' }
  /** The current stage has not been entered: take its slot, or wait for it. */
  | { kind: 'enterStage' }
  /** Every action of the current stage succeeded: on to the next stage, freeing this one's slot. */
  | { kind: 'completeStage' }
  /** An action failed or was stopped, or the definition lost it: the execution fails. */
  | { kind: 'fail'; reason: string }
  /** An approval starts waiting, until `deadline`. */
  | { kind: 'startApproval'; at: ActionRef; deadline: string }
  /** An approval (or the deploy action's deployment) ended: record it and look again. */
  | { kind: 'recordAction'; at: ActionRef; changes: Partial<ActionState> }
  /** A deploy action creates its deployment (or finds the one an earlier attempt created). */
  | { kind: 'startDeploy'; at: ActionRef; application: string; group: string; attempt: number }
  /** The deploy action's deployment must be read before deciding (`deployment` was not given). */
  | { kind: 'readDeployment'; at: ActionRef; deploymentId: string }
  /** Nothing to do until an approval, a deployment or a free group moves it. */
  | { kind: 'wait' };

/**
 * An approval is over at its deadline, whoever looks first: a decision made
 * at or after it is refused, and the approval fails as of the deadline
 * whether the reconciler or a late decision records it.
 */
export function approvalTimedOut(action: Pick<ActionState, 'deadline'>, now: string): boolean {
  return action.deadline !== undefined && action.deadline <= now;
}

/** The changes that fail an approval at its deadline. */
export function approvalTimeout(action: Pick<ActionState, 'deadline'>, timeoutMinutes: number): Partial<ActionState> {
  return { status: 'Failed', endedAt: action.deadline, error: `Approval timed out after ${timeoutMinutes} minute(s)` };
}

/** A finished deploy action's outcome, naming its deployment and the deployment's cause. */
export function deployOutcome(seen: DeploymentSeen, now: string): Partial<ActionState> {
  return seen.status === 'Succeeded'
    ? { status: 'Succeeded', endedAt: now }
    : { status: 'Failed', endedAt: now, error: `Deployment ${seen.deploymentId} ${seen.status}${seen.message ? `: ${seen.message}` : ''}` };
}

/**
 * The next step of an InProgress execution, from its recorded state alone
 * (and, for a running deploy action, what its deployment has come to). Pure:
 * the execution engine carries it out with one conditional write.
 */
export function decidePipelineStep(ex: Execution, now: string, deployment?: DeploymentSeen): PipelineStep {
  const i = ex.stageIndex;
  const stage = ex.stages[i];
  if (!stage) return { kind: 'succeed' };
  if (!ex.preflight) return { kind: 'preflight' };
  if (stage.status === 'Pending') return { kind: 'enterStage' };

  const a = stage.actions.findIndex((action) => action.status !== 'Succeeded');
  if (a === -1) return { kind: 'completeStage' };
  const action = stage.actions[a] as ActionState;
  const at = { stage: i, action: a };
  if (action.status === 'Failed' || action.status === 'Stopped') return { kind: 'fail', reason: action.error ?? `${action.name} failed` };
  const definition = ex.definition[i]?.actions[a];
  if (!definition) return { kind: 'fail', reason: `stage ${stage.name} has no action ${a + 1}` };

  if (definition.type === 'approval') {
    if (action.status === 'Pending') {
      return { kind: 'startApproval', at, deadline: new Date(Date.parse(now) + definition.timeoutMinutes * 60_000).toISOString() };
    }
    if (approvalTimedOut(action, now)) return { kind: 'recordAction', at, changes: approvalTimeout(action, definition.timeoutMinutes) };
    return { kind: 'wait' };
  }

  if (action.status === 'InProgress' && action.deploymentId) {
    if (!deployment || deployment.deploymentId !== action.deploymentId) return { kind: 'readDeployment', at, deploymentId: action.deploymentId };
    return isDeploymentFinished(deployment.status) ? { kind: 'recordAction', at, changes: deployOutcome(deployment, now) } : { kind: 'wait' };
  }
  return { kind: 'startDeploy', at, application: definition.application, group: definition.group, attempt: action.attempt ?? 0 };
}
