import { createHash, randomBytes } from 'node:crypto';
import { withBundleType } from '../domain/deployment.js';
import { pipelineActionToken } from '../domain/engine-tokens.js';
import { isDeploymentFinished } from '../domain/lifecycle.js';
import {
  type ActionState,
  type Execution,
  type ExecutionRevision,
  type Pipeline,
  initialStages,
} from '../domain/pipeline.js';
import { stopDeployment } from '../deployments/stop-deployment.js';
import { createDeployment } from '../deployments/create-deployment.js';
import { type DeploymentSeen, type PipelineStep, decidePipelineStep, deployInput, deployOutcome, deploysSource } from '../domain/pipeline-step.js';
import { type BuildSeen, buildIdempotencyToken, buildOutputPath } from '../domain/build.js';
import { checkRevision, inspectRevision } from '../revisions/check-revision.js';
import { ConflictError, FleetlineError, GroupBusyError } from '../errors.js';
import { logger } from '../logger.js';
import { assertBuildAuthority, deployAuthority } from './pipeline-authority.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { notFound } from '../domain/not-found.js';

/** The same pipeline and object version always give the same execution ID: a repeated notification starts nothing. */
export function executionIdFor(pipeline: string, revision: ExecutionRevision): string {
  const identity = [pipeline, revision.bucket, revision.key, revision.version ?? `${revision.eTag ?? ''}@${revision.sequencer ?? ''}`].join('\n');
  return `e-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

export function newManualExecutionId(): string {
  return `e-${randomBytes(8).toString('hex')}`;
}

/** Records an execution (unless that ID exists); the worker moves it on from its stream record. */
export async function startExecution(
  pipeline: Pipeline,
  revision: ExecutionRevision,
  trigger: Execution['trigger'],
  executionId: string,
  deps: PipelineDeps,
): Promise<{ executionId: string; created: boolean }> {
  const now = deps.clock.now().toISOString();
  const created = await deps.executions.create({
    executionId,
    pipeline: pipeline.name,
    definition: pipeline.stages,
    revision,
    trigger,
    authority: pipeline.author,
    status: 'InProgress',
    stageIndex: 0,
    waiting: false,
    stages: initialStages(pipeline),
    createdAt: now,
    updatedAt: now,
    version: 0,
  });
  if (created) logger.info('Execution started', { executionId, pipeline: pipeline.name, key: revision.key });
  return { executionId, created };
}

type Step = 'continue' | 'stop';

/**
 * Moves an execution forward: enter the next stage when its slot is free (or
 * wait, superseding older waiters in SUPERSEDED mode), run each action in
 * order, end the stage, end the execution. Every write is conditional on the
 * version read, so reports, approvals and the reconciler may all call it at once.
 */
export async function advanceExecution(executionId: string, deps: PipelineDeps, seen?: { build?: BuildSeen }): Promise<Execution | undefined> {
  for (let round = 0; round < 50; round++) {
    const ex = await deps.executions.get(executionId);
    if (!ex || ex.status !== 'InProgress') {
      // Stopped while this was at work: a slot it took meanwhile (after the stop's own worker looked) goes back.
      if (round > 0 && ex?.status === 'Stopped') {
        await deps.executions.releaseStage(ex.pipeline, ex.stageIndex, ex.executionId);
        await admitWaiters(ex.pipeline, ex.stageIndex, deps);
      }
      return ex;
    }
    try {
      if ((await advanceOnce(ex, deps, undefined, seen?.build)) === 'stop') return deps.executions.get(executionId);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // someone else moved it: look again
    }
  }
  return deps.executions.get(executionId);
}

/** Carries out the domain's decision for the execution's next step (lib/domain/pipeline-step.ts). */
async function advanceOnce(ex: Execution, deps: PipelineDeps, seen?: DeploymentSeen, build?: BuildSeen): Promise<Step> {
  const now = deps.clock.now().toISOString();
  const i = ex.stageIndex;
  const decision = decidePipelineStep(ex, now, seen, build);
  switch (decision.kind) {
    case 'succeed':
      await deps.executions.save({ ...ex, status: 'Succeeded', endedAt: now, updatedAt: now, waiting: false });
      logger.info('Execution succeeded', { executionId: ex.executionId });
      return 'stop';
    case 'preflight':
      return preflight(ex, deps, now);
    case 'enterStage':
      return enterStage(ex, deps, now);
    case 'completeStage': {
      const stages = ex.stages.map((s, k) => (k === i ? { ...s, status: 'Succeeded' as const, endedAt: now } : s));
      await deps.executions.save({ ...ex, stages, stageIndex: i + 1, updatedAt: now }, { leaveStage: i });
      await admitWaiters(ex.pipeline, i, deps);
      return 'continue';
    }
    case 'fail':
      return failExecution(ex, decision.reason, deps);
    case 'startApproval':
      await saveAction(ex, decision.at.stage, decision.at.action, { status: 'InProgress', startedAt: now, deadline: decision.deadline }, deps);
      return 'stop';
    case 'recordAction':
      await saveAction(ex, decision.at.stage, decision.at.action, decision.changes, deps);
      return 'continue';
    case 'readDeployment': {
      // Normally the deployment's end is pushed here; this catches one whose notification was lost.
      const deployment = await deps.deployments.get(decision.deploymentId);
      if (!deployment) return 'stop';
      return advanceOnce(ex, deps, { deploymentId: deployment.deploymentId, status: deployment.status, message: deployment.error?.message });
    }
    case 'startDeploy':
      return startDeployAction(ex, decision, deps, now);
    case 'startBuild':
      return startBuildAction(ex, decision, deps, now);
    case 'readBuild': {
      // Normally the build's end comes with CodeBuild's state-change event; this is the backstop.
      const current = await deps.builds?.get(decision.buildId);
      if (!current) {
        await saveAction(ex, decision.at.stage, decision.at.action, { status: 'Failed', endedAt: now, error: `Build ${decision.buildId} no longer exists (${deps.builds ? 'the build service does not know it' : 'no build service is configured'})` }, deps);
        return 'continue';
      }
      return advanceOnce(ex, deps, undefined, current);
    }
    case 'wait':
      return 'stop';
  }
}

async function startDeployAction(
  ex: Execution,
  decision: Extract<PipelineStep, { kind: 'startDeploy' }>,
  deps: PipelineDeps,
  now: string,
): Promise<Step> {
  const { stage: i, action: a } = decision.at;
  const definition = { application: decision.application, group: decision.group };
  const action = ex.stages[i]?.actions[a] as ActionState;
  const attempt = decision.attempt;
  const input = deployInput(ex, i, decision.input);
  if ('problem' in input) {
    await saveAction(ex, i, a, { status: 'Failed', endedAt: now, error: `Nothing to deploy: ${input.problem}` }, deps);
    return 'continue';
  }
  try {
    const creator = await deployAuthority(ex, definition, deps);
    // A build's output is checked like any revision: it exists, and its appspec.yml is valid.
    const checked = await checkRevision(
      withBundleType({ bucket: input.revision.bucket, key: input.revision.key, version: input.revision.version, eTag: input.revision.eTag }),
      deps,
    );
    const result = await createDeployment(
      {
        application: definition.application,
        group: definition.group,
        revision: checked.revision,
        warnings: checked.warnings,
        description: `Pipeline ${ex.pipeline}, execution ${ex.executionId}, stage ${ex.stages[i]?.name}`,
        idempotencyToken: pipelineActionToken(ex.executionId, i, a, attempt),
        pipelineAction: { executionId: ex.executionId, stageIndex: i, actionIndex: a },
        // Only this execution's deploy actions may deploy its builds' outputs (revision-scope.ts).
        ...(input.kind === 'build' ? { revisionScope: { kind: 'buildOutput' as const, pipeline: ex.pipeline, executionId: ex.executionId } } : {}),
        // A deploy action waits for a busy group its own way (below), whatever the group's busyBehavior.
        whenBusy: 'REJECT',
      },
      creator,
      deps,
    );
    const finished = isDeploymentFinished(result.status);
    const deployment = finished ? await deps.deployments.get(result.deploymentId) : undefined;
    await saveAction(
      ex,
      i,
      a,
      {
        deploymentId: result.deploymentId,
        startedAt: action.startedAt ?? now,
        waitingForGroup: false,
        ...(input.kind === 'build' ? { input: input.action } : {}),
        ...(finished ? deployOutcome({ deploymentId: result.deploymentId, status: result.status, message: deployment?.error?.message }, now) : { status: 'InProgress' }),
      },
      deps,
    );
    return finished ? 'continue' : 'stop';
  } catch (error) {
    if (error instanceof GroupBusyError) {
      // The group is busy: wait for it, never fail for it. Its next deployment's end wakes us.
      // (If the group frees up in between, the reconciler's next pass starts the action.)
      await deps.executions.addGroupWaiter(definition.application, definition.group, ex.executionId);
      if (!action.waitingForGroup) await saveAction(ex, i, a, { waitingForGroup: true }, deps);
      return 'stop';
    }
    if (error instanceof FleetlineError && error.statusCode < 500) {
      await saveAction(ex, i, a, { status: 'Failed', endedAt: now, error: error.message }, deps);
      return 'continue';
    }
    throw error;
  }
}

/** The variables every build gets beside its own: which execution and action it serves (the state-change event carries them back). */
export const BUILD_CONTEXT_VARIABLES = { execution: 'FLEETLINE_EXECUTION_ID', pipeline: 'FLEETLINE_PIPELINE', action: 'FLEETLINE_ACTION' } as const;
/** The name of a build action's output zip inside its folder. */
export const BUILD_OUTPUT_NAME = 'output.zip';

/**
 * Starts a build action's build with the execution's authority, on the
 * execution's revision, its output going to a folder of its own under the
 * reserved build prefix. The idempotency token is the execution's, stage's,
 * action's and attempt's, so a replay after a crash between the start and the
 * write finds the same build. A cause that lasts (no such project, refused,
 * not allowed) fails the action naming it; anything else is tried again.
 */
async function startBuildAction(ex: Execution, decision: Extract<PipelineStep, { kind: 'startBuild' }>, deps: PipelineDeps, now: string): Promise<Step> {
  const { stage: i, action: a } = decision.at;
  const action = ex.stages[i]?.actions[a] as ActionState;
  const definition = ex.definition[i]?.actions[a];
  if (definition?.type !== 'build') return 'stop';
  const fail = async (error: string) => {
    await saveAction(ex, i, a, { status: 'Failed', startedAt: action.startedAt ?? now, endedAt: now, error }, deps);
    return 'continue' as const;
  };
  if (!deps.builds) return fail(`Build action ${action.name}: no build service is configured here, so project ${decision.project} cannot run`);
  const path = buildOutputPath(ex.pipeline, ex.executionId, action.name, decision.attempt);
  try {
    await assertBuildAuthority(ex, decision.project, deps);
    const { buildId } = await deps.builds.start({
      project: decision.project,
      source: { bucket: ex.revision.bucket, key: ex.revision.key, version: ex.revision.version },
      output: { bucket: deps.artifactBucket, path, name: BUILD_OUTPUT_NAME },
      environmentVariables: [
        ...(definition.environmentVariables ?? []),
        { name: BUILD_CONTEXT_VARIABLES.execution, value: ex.executionId },
        { name: BUILD_CONTEXT_VARIABLES.pipeline, value: ex.pipeline },
        { name: BUILD_CONTEXT_VARIABLES.action, value: action.name },
      ],
      buildspec: definition.buildspec,
      idempotencyToken: buildIdempotencyToken(ex.executionId, i, a, decision.attempt),
    });
    await saveAction(ex, i, a, {
      status: 'InProgress',
      startedAt: action.startedAt ?? now,
      buildId,
      output: { bucket: deps.artifactBucket, key: `${path}/${BUILD_OUTPUT_NAME}` },
    }, deps);
    return 'continue';
  } catch (error) {
    if (error instanceof FleetlineError && error.statusCode < 500) return fail(`Build action ${action.name} could not start: ${error.message}`);
    throw error;
  }
}

async function saveAction(ex: Execution, i: number, a: number, changes: Partial<ActionState>, deps: PipelineDeps): Promise<Execution> {
  const stages = ex.stages.map((s, k) =>
    k === i ? { ...s, actions: s.actions.map((act, j) => (j === a ? { ...act, ...changes } : act)) } : s,
  );
  return deps.executions.save({ ...ex, stages, updatedAt: deps.clock.now().toISOString() });
}

async function enterStage(ex: Execution, deps: PipelineDeps, now: string): Promise<Step> {
  const i = ex.stageIndex;
  const queued = (await deps.pipelines.get(ex.pipeline))?.executionMode === 'QUEUED';
  // QUEUED: first in, first out, even when the slot is free (its last holder's let-in was lost, or is on its way).
  const ahead = queued ? await olderWaiters(ex, deps) : [];
  if (ahead.length === 0 && (await deps.executions.acquireStage(ex.pipeline, i, ex.executionId))) {
    const stages = ex.stages.map((s, k) => (k === i ? { ...s, status: 'InProgress' as const, startedAt: now } : s));
    await deps.executions.save({ ...ex, stages, waiting: false, updatedAt: now });
    // SUPERSEDED: an older build still waiting for this stage would otherwise follow this newer one into it.
    if (!queued) await supersedeOlderWaiters(ex, deps);
    return 'continue';
  }
  const waiting = ex.waiting ? ex : await deps.executions.save({ ...ex, waiting: true, updatedAt: now });
  if (!queued) await supersedeOlderWaiters(waiting, deps);
  if (ahead[0]) {
    // An earlier round may have taken the slot before those ahead showed in the (lagging) index: theirs first.
    await deps.executions.releaseStage(ex.pipeline, i, ex.executionId);
    await advanceExecution(ahead[0].executionId, deps); // the first in line takes the slot if it is free
    return 'stop';
  }
  // The holder may have left between our attempt and our wait; holding the slot, the next round enters.
  return (await deps.executions.acquireStage(ex.pipeline, i, ex.executionId)) ? 'continue' : 'stop';
}

/** The executions still waiting for `me`'s stage that came before it, oldest first (each read again: the index lags). */
async function olderWaiters(me: Execution, deps: PipelineDeps): Promise<Execution[]> {
  const older: Execution[] = [];
  for (const id of await deps.executions.waiting(me.pipeline, me.stageIndex)) {
    if (id === me.executionId) continue;
    const other = await deps.executions.get(id);
    if (!other || other.status !== 'InProgress' || !other.waiting || other.stageIndex !== me.stageIndex) continue;
    if (`${other.createdAt}#${other.executionId}` < `${me.createdAt}#${me.executionId}`) older.push(other);
  }
  return older;
}

/**
 * SUPERSEDED: a newer execution waiting for a stage, or entering it, replaces
 * every older one waiting for it, unless that one holds the stage's slot
 * already (it was let in and is entering: it goes first).
 */
async function supersedeOlderWaiters(me: Execution, deps: PipelineDeps): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const other of await olderWaiters(me, deps)) {
    try {
      await deps.executions.save(
        { ...other, status: 'Superseded', waiting: false, endedAt: now, updatedAt: now, error: `Superseded by ${me.executionId}` },
        { notHolding: other.stageIndex },
      );
      logger.info('Execution superseded', { executionId: other.executionId, by: me.executionId });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

/** Lets the next execution waiting for a free stage (oldest first) in; the reconciler does it if this is lost. */
export async function admitWaiters(pipeline: string, stageIndex: number, deps: PipelineDeps): Promise<void> {
  for (const id of await deps.executions.waiting(pipeline, stageIndex)) {
    const next = await advanceExecution(id, deps);
    if (next?.status === 'InProgress' && !next.waiting) return;
  }
}

async function failExecution(ex: Execution, reason: string, deps: PipelineDeps): Promise<Step> {
  const now = deps.clock.now().toISOString();
  const i = ex.stageIndex;
  const stages = ex.stages.map((s, k) => (k === i ? { ...s, status: 'Failed' as const, endedAt: now } : s));
  await deps.executions.save({ ...ex, stages, status: 'Failed', endedAt: now, updatedAt: now, error: reason }, { leaveStage: i });
  logger.info('Execution failed', { executionId: ex.executionId, reason });
  await admitWaiters(ex.pipeline, i, deps);
  return 'stop';
}

/**
 * Checks the revision (the object exists, its appspec.yml is valid by the
 * agent's own model): a bad one fails the execution, with every problem,
 * before any instance is touched.
 */
async function preflight(ex: Execution, deps: PipelineDeps, now: string): Promise<Step> {
  // A source only built from (never deployed itself) need not be a bundle: it must exist; its builds' outputs are checked when deployed.
  const { problems } = deploysSource(ex.definition) ? await inspectRevision(withBundleType(ex.revision), deps) : await sourceExists(ex.revision, deps);
  if (problems.length === 0) {
    await deps.executions.save({ ...ex, preflight: { ok: true, problems }, updatedAt: now });
    return 'continue';
  }
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  await deps.executions.save({
    ...ex,
    preflight: { ok: false, problems },
    status: 'Failed',
    endedAt: now,
    updatedAt: now,
    error: `The revision cannot be deployed: ${summary}`,
  });
  logger.info('Execution failed preflight', { executionId: ex.executionId, problems: problems.length });
  return 'stop';
}

async function sourceExists(revision: ExecutionRevision, deps: PipelineDeps): Promise<{ problems: { path: string; message: string }[] }> {
  const head = await deps.appspecs.head(withBundleType(revision));
  return { problems: 'problem' in head ? [{ path: '$.revision', message: head.problem }] : [] };
}

/**
 * What the worker does for an execution's stream record: moves it on, then
 * lets the next execution waiting for the stage it left last in (its own step
 * does that, unless the worker died right after leaving). Each write is the
 * record of the next step, so a request or worker that dies between two of
 * them leaves nothing stuck for longer than the stream takes to deliver it;
 * replayed, it changes nothing.
 */
export async function advanceExecutionAndWaiters(executionId: string, deps: PipelineDeps, seen?: { build?: BuildSeen }): Promise<void> {
  const ex = await advanceExecution(executionId, deps, seen);
  if (!ex) return;
  const left = ex.status === 'InProgress' ? ex.stageIndex - 1 : Math.min(ex.stageIndex, ex.stages.length - 1);
  if (ex.status === 'Stopped') await afterStop(ex, left, deps);
  if (left >= 0) await admitWaiters(ex.pipeline, left, deps);
}

/**
 * What follows a stop the request recorded: the stage's running deployments
 * and builds are asked to stop, and a slot the execution took without having entered
 * the stage (its stop could not release it with the stop) is released.
 */
async function afterStop(ex: Execution, stage: number, deps: PipelineDeps): Promise<void> {
  const by = ex.stoppedBy ?? 'fleetline';
  for (const action of ex.stages[stage]?.actions ?? []) {
    if (action.status === 'Stopped' && action.buildId) await deps.builds?.stop(action.buildId);
    if (action.status !== 'Stopped' || !action.deploymentId) continue;
    await stopDeployment(action.deploymentId, { by }, deps).catch((error) => {
      if (!(error instanceof ConflictError)) throw error; // it has ended, or is stopping already
    });
  }
  if (stage >= 0) await deps.executions.releaseStage(ex.pipeline, stage, ex.executionId);
}

/** Called by the worker once for every deployment that ends. */
export async function onDeploymentEnded(
  deployment: { deploymentId: string; application: string; group: string; status: string; error?: { message: string } | undefined; pipelineAction?: { executionId: string } | undefined },
  deps: PipelineDeps,
): Promise<void> {
  if (deployment.pipelineAction) await advanceExecution(deployment.pipelineAction.executionId, deps);
  // The group is free again: deploy actions that waited for it may start.
  for (const id of await deps.executions.takeGroupWaiters(deployment.application, deployment.group)) {
    await advanceExecution(id, deps);
  }
}

export async function requireExecution(executionId: string, deps: PipelineDeps): Promise<Execution> {
  const ex = await deps.executions.get(executionId);
  if (!ex) throw notFound.execution(executionId);
  return ex;
}
