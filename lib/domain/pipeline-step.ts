import type { DeploymentStatus } from './lifecycle.js';
import { isDeploymentFinished } from './lifecycle.js';
import { type BuildSeen, buildOutcome } from './build.js';
import type { ActionState, BuildOutput, Execution, ExecutionRevision } from './pipeline.js';

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
  | { kind: 'startDeploy'; at: ActionRef; application: string; group: string; attempt: number; input?: string | undefined }
  /** The deploy action's deployment must be read before deciding (`deployment` was not given). */
  | { kind: 'readDeployment'; at: ActionRef; deploymentId: string }
  /** A build action starts its build (or finds the one an earlier attempt started: same idempotency token). */
  | { kind: 'startBuild'; at: ActionRef; project: string; attempt: number }
  /** The build action's build must be read before deciding (`build` was not given, or is another build). */
  | { kind: 'readBuild'; at: ActionRef; buildId: string }
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

/** A finished build's outcome for its action (build.ts's buildOutcome names the cause). */
export function buildActionOutcome(seen: BuildSeen, now: string): Partial<ActionState> {
  const outcome = buildOutcome(seen);
  const log = seen.logLink ? { logLink: seen.logLink } : {};
  return outcome.succeeded ? { status: 'Succeeded', endedAt: now, ...log } : { status: 'Failed', endedAt: now, error: outcome.error, ...log };
}

/** What a deploy action deploys: the source, or a build's output (named by the build action). */
export type DeployInput = { kind: 'source'; revision: ExecutionRevision } | { kind: 'build'; action: string; revision: BuildOutput };

/**
 * The artifact a deploy action at stage `stage` takes: the output of the build
 * action it names in `input`, or by default that of the most recent build in
 * an earlier stage, else the source. A build that left no output (it never
 * succeeded, or this execution never ran it) is a problem, named.
 */
export function deployInput(ex: Pick<Execution, 'definition' | 'stages' | 'revision'>, stage: number, input: string | undefined): DeployInput | { problem: string } {
  const builds: { name: string; state: ActionState | undefined }[] = [];
  for (let s = 0; s < stage; s++) {
    (ex.definition[s]?.actions ?? []).forEach((action, a) => {
      if (action.type === 'build') builds.push({ name: action.name, state: ex.stages[s]?.actions[a] });
    });
  }
  const chosen = input === undefined ? builds.at(-1) : builds.find((b) => b.name === input);
  if (!chosen) {
    return input === undefined ? { kind: 'source', revision: ex.revision } : { problem: `the input ${input} names no build action of an earlier stage` };
  }
  const { state } = chosen;
  if (!state || state.status !== 'Succeeded' || !state.output) {
    return { problem: `the build action ${chosen.name} has no output to deploy (it is ${state?.status ?? 'missing'})` };
  }
  return { kind: 'build', action: chosen.name, revision: state.output };
}

/** Whether any deploy action deploys the source itself (else preflight checks only that the source exists). */
export function deploysSource(definition: Execution['definition']): boolean {
  let built = false;
  for (const stage of definition) {
    if (stage.actions.some((a) => a.type === 'deploy' && a.input === undefined && !built)) return true;
    if (stage.actions.some((a) => a.type === 'build')) built = true;
  }
  return false;
}

/**
 * The next step of an InProgress execution, from its recorded state alone
 * (and, for a running deploy action, what its deployment has come to; for a
 * running build action, what its build has come to). Pure:
 * the execution engine carries it out with one conditional write.
 */
export function decidePipelineStep(ex: Execution, now: string, deployment?: DeploymentSeen, build?: BuildSeen): PipelineStep {
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

  if (definition.type === 'build') {
    if (action.status === 'InProgress' && action.buildId) {
      if (!build || build.buildId !== action.buildId) return { kind: 'readBuild', at, buildId: action.buildId };
      return build.status === 'IN_PROGRESS' ? { kind: 'wait' } : { kind: 'recordAction', at, changes: buildActionOutcome(build, now) };
    }
    return { kind: 'startBuild', at, project: definition.project, attempt: action.attempt ?? 0 };
  }

  if (action.status === 'InProgress' && action.deploymentId) {
    if (!deployment || deployment.deploymentId !== action.deploymentId) return { kind: 'readDeployment', at, deploymentId: action.deploymentId };
    return isDeploymentFinished(deployment.status) ? { kind: 'recordAction', at, changes: deployOutcome(deployment, now) } : { kind: 'wait' };
  }
  return { kind: 'startDeploy', at, application: definition.application, group: definition.group, attempt: action.attempt ?? 0, input: definition.input };
}
