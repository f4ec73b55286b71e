import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import type { ArtifactUpload } from '../../lib/domain/artifact-upload.js';
import { executionIdFor } from '../../lib/pipelines/execution-engine.js';
import { putBundle } from './bundles.js';
import { type LabAgent, type LabRun, type LabState, type Scenario, type Step, settleStream, stageEntries } from './engine-lab.js';
import { BUCKET, deploymentsOf, ok, registerFleet } from './engine-scenarios.js';

/**
 * Pipeline executions the engine must finish whatever crashes under it
 * (test/integration/engine-crashes): approvals, executions waiting for a
 * stage (SUPERSEDED and QUEUED), a failed stage retried, an execution stopped.
 * Each upload is a build of its own (a, b, c, d); executions are named after them.
 */

export type Build = 'a' | 'b' | 'c' | 'd';
const BUILDS: Build[] = ['a', 'b', 'c', 'd'];

/** The bundles the pipeline scenarios' builds upload. */
export const PIPELINE_BUNDLES = BUILDS.map((build) => `web/pipe/build-${build}.zip`);

/** Uploads the builds' bundles to the run's S3; returns their ETags by key. */
export async function uploadPipelineBundles(s3: S3Client): Promise<Map<string, string>> {
  const eTags = new Map<string, string>();
  for (const key of PIPELINE_BUNDLES) eTags.set(key, await putBundle(s3, BUCKET, key));
  return eTags;
}

function uploadOf(build: Build, run?: LabRun): ArtifactUpload {
  const n = BUILDS.indexOf(build) + 1;
  const key = `web/pipe/build-${build}.zip`;
  return {
    bucket: BUCKET, key, versionId: `v${n}`, eTag: run?.backend.eTagOf(key) ?? '', size: 10,
    sequencer: `00000000000000${n}000`, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), uploader: 'AWS:ci',
  };
}

/** The execution an upload of `build` starts (IDs are derived from pipeline and object version). */
export const executionOf = (build: Build): string => {
  const u = uploadOf(build);
  return executionIdFor('web', { bucket: u.bucket, key: u.key, version: u.versionId ?? undefined });
};

export interface PipelineContext {
  agents: LabAgent[];
}

export type Stage = { name: string; actions: Record<string, unknown>[] };
const gate: Stage = { name: 'Gate', actions: [{ type: 'approval', timeoutMinutes: 1440 }] };
const deployTo = (group: string): Stage => ({ name: group, actions: [{ type: 'deploy', application: 'web', group }] });

export async function savePipeline(run: LabRun, stages: Stage[], executionMode: 'SUPERSEDED' | 'QUEUED' = 'SUPERSEDED') {
  const body = { source: { bucket: BUCKET, prefix: 'web/pipe/', suffix: '.zip' }, executionMode, stages };
  await ok(run.healthy, run.healthy.send('PUT', '/pipelines/web', { body }), [201]);
}

// Steps. Each is what a client, S3, an agent or the scheduler does, and each is
// run again by a healthy engine when the engine crashed under it (a retry).

/** A client's action, and the worker doing what it recorded: the stream delivers it in seconds, before anyone acts again. */
const recorded = (action: Step<PipelineContext>): Step<PipelineContext> => async (engine, c, run) => {
  await action(engine, c, run);
  await settleStream(run, engine);
};
/** S3 notifies an upload of `build` (a moment after the previous one: well within a running hook's lease). */
export const upload = (build: Build): Step<PipelineContext> => recorded(async (engine, _c, run) => {
  run.clock.advance(1);
  await startPipelinesFor(uploadOf(build, run), engine.deps);
});
export const worker: Step<PipelineContext> = async (engine, _c, run) => void (await settleStream(run, engine));
export const agent = (i: number): Step<PipelineContext> => async (engine, c) => void (await c.agents[i]!.work(engine));
/**
 * A reviewer decides (a moment after what came before: each stage entered has a time of its own). On
 * storage that loses answers, the decision's write may take effect and its replay be refused: the
 * reviewer then hears 409 (the execution changed), and the scenario's end shows the decision recorded once.
 */
const decide = (build: Build, verb: 'approve' | 'reject', comment: string): Step<PipelineContext> =>
  recorded(async (engine, _c, run) => {
    run.clock.advance(1);
    await ok(engine, engine.send('POST', `/executions/${executionOf(build)}/${verb}`, { body: { comment } }), engine.flaky ? [200, 409] : [200]);
  });
export const stop = (build: Build): Step<PipelineContext> =>
  recorded(async (engine) => void (await ok(engine, engine.send('POST', `/executions/${executionOf(build)}/stop`), [200])));
/** A retry whose first attempt took effect is refused (the execution is no longer failed); the engine carries on. */
export const retry = (build: Build): Step<PipelineContext> =>
  recorded(async (engine) => void (await ok(engine, engine.send('POST', `/executions/${executionOf(build)}/retry`), [200, 409])));

export const executionsOf = (state: LabState) => new Map(state.executions.map((e) => [e.executionId, e]));

/** Each execution's end, by build. */
export function expectEnds(state: LabState, ends: Partial<Record<Build, string>>): void {
  const executions = executionsOf(state);
  expect(executions.size, 'executions').toBe(Object.keys(ends).length);
  for (const [build, status] of Object.entries(ends)) {
    const execution = executions.get(executionOf(build as Build));
    expect(execution?.status, `execution of build ${build} (${execution?.error ?? 'no error'})`).toBe(status);
  }
}

/** How often each build's execution took each stage's slot (every one taken was released: checkInvariants). */
export function expectStageEntries(run: LabRun, entries: Partial<Record<Build, number[]>>): void {
  const seen = stageEntries(run);
  for (const [build, perStage] of Object.entries(entries)) {
    perStage.forEach((n, stage) => expect(seen.get(`${executionOf(build as Build)} ${stage}`)?.taken ?? 0, `build ${build} entered stage ${stage}`).toBe(n));
  }
}

/** Every decision ever recorded on the execution's approvals (from the stream): a decision is written once. */
function decisionsOf(run: LabRun, build: Build): unknown[] {
  const decisions = new Set<string>();
  for (const change of run.backend.changes.filter((c) => c.type === 'Execution' && c.id === executionOf(build))) {
    for (const stage of (change.new?.stages as { actions: { decision?: unknown }[] }[] | undefined) ?? []) {
      for (const action of stage.actions) if (action.decision) decisions.add(JSON.stringify(action.decision));
    }
  }
  return [...decisions].map((d) => JSON.parse(d));
}

/** An approval gate, then prod: approved, the build reaches prod. */
export const approvedToProd: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'prod', 1, {});
    await savePipeline(run, [gate, deployTo('prod')]);
    return { agents };
  },
  steps: [upload('a'), decide('a', 'approve', 'ship it'), worker, agent(0), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded' });
    expect(decisionsOf(run, 'a')).toEqual([expect.objectContaining({ approved: true, comment: 'ship it' })]);
    expect(deploymentsOf(state).map((d) => `${d.group}:${d.status}:${d.pipelineAction?.executionId}`)).toEqual([`prod:Succeeded:${executionOf('a')}`]);
    expectStageEntries(run, { a: [1, 1] });
  },
};

/** An approval gate, then prod: rejected, the execution fails and prod is never touched. */
export const rejectedAtGate: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'prod', 1, {});
    await savePipeline(run, [gate, deployTo('prod')]);
    return { agents };
  },
  steps: [upload('a'), decide('a', 'reject', 'not today'), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Failed' });
    const execution = executionsOf(state).get(executionOf('a'));
    expect(execution?.error).toMatch(/^Rejected by .*: not today$/);
    expect(execution?.stages.map((s: { status: string }) => s.status)).toEqual(['Failed', 'Pending']);
    expect(decisionsOf(run, 'a')).toEqual([expect.objectContaining({ approved: false, comment: 'not today' })]);
    expect(deploymentsOf(state)).toEqual([]);
    expectStageEntries(run, { a: [1, 0] });
  },
};

/**
 * SUPERSEDED: while a is at the gate, b waits and c replaces it; once a is
 * through, c enters; d arrives while c is at the gate and waits for it.
 */
export const supersededWhileWaiting: Scenario<PipelineContext> = {
  async setup(run) {
    await savePipeline(run, [gate], 'SUPERSEDED');
    return { agents: [] };
  },
  steps: [upload('a'), upload('b'), upload('c'), decide('a', 'approve', 'a ok'), upload('d'), decide('c', 'approve', 'c ok'), decide('d', 'approve', 'd ok')],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded', b: 'Superseded', c: 'Succeeded', d: 'Succeeded' });
    expect(executionsOf(state).get(executionOf('b'))?.error).toBe(`Superseded by ${executionOf('c')}`);
    expectStageEntries(run, { a: [1], b: [0], c: [1], d: [1] });
  },
};

/** QUEUED: b and c wait while a is at the gate, and go through it in the order they came. */
export const queuedInOrder: Scenario<PipelineContext> = {
  async setup(run) {
    await savePipeline(run, [gate], 'QUEUED');
    return { agents: [] };
  },
  steps: [upload('a'), upload('b'), upload('c'), decide('a', 'approve', 'a ok'), decide('b', 'approve', 'b ok'), decide('c', 'approve', 'c ok')],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded', b: 'Succeeded', c: 'Succeeded' });
    const entered = (build: Build) => executionsOf(state).get(executionOf(build))?.stages[0]?.startedAt ?? '';
    expect(entered('a') < entered('b') && entered('b') < entered('c'), 'entered in upload order').toBe(true);
    expectStageEntries(run, { a: [1], b: [1], c: [1] });
  },
};

/** A host fails the deploy stage; the execution is retried and the stage's second deployment succeeds. */
export const retriedAfterFailure: Scenario<PipelineContext> = {
  waitsOutDeadLeases: true,
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {}, { failAt: 'Install' });
    await savePipeline(run, [deployTo('staging')]);
    return { agents };
  },
  steps: [upload('a'), worker, agent(0), worker, retry('a'), worker, agent(0), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded' });
    const action = executionsOf(state).get(executionOf('a'))?.stages[0]?.actions[0];
    expect(action).toMatchObject({ status: 'Succeeded', attempt: 1 });
    const deployments = deploymentsOf(state);
    expect(deployments.map((d) => `${d.group}:${d.status}`)).toEqual(['staging:Failed', 'staging:Succeeded']);
    expect(action?.deploymentId).toBe(deployments[1]?.deploymentId);
    expectStageEntries(run, { a: [2] });
  },
};

/** QUEUED: a is stopped at the gate while b waits for it: b goes through next. */
export const stoppedWhileOthersWait: Scenario<PipelineContext> = {
  async setup(run) {
    await savePipeline(run, [gate], 'QUEUED');
    return { agents: [] };
  },
  steps: [upload('a'), upload('b'), stop('a'), decide('b', 'approve', 'b ok')],
  check(state, _c, run) {
    expectEnds(state, { a: 'Stopped', b: 'Succeeded' });
    expect(executionsOf(state).get(executionOf('a'))).toMatchObject({ stoppedBy: expect.any(String), stages: [{ status: 'Stopped', actions: [{ status: 'Stopped' }] }] });
    expectStageEntries(run, { a: [1], b: [1] });
  },
};

/** a's deployment runs a long hook when a is stopped: the deployment stops too (the hook is killed). */
export const stoppedMidDeployment: Scenario<PipelineContext> = {
  waitsOutDeadLeases: true,
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {}, { holdAt: 'ApplicationStart' });
    await savePipeline(run, [deployTo('staging')]);
    return { agents };
  },
  steps: [upload('a'), worker, agent(0), stop('a'), worker, agent(0), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Stopped' });
    const deployments = deploymentsOf(state);
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({ status: 'Stopped', counts: { failed: 1 }, pipelineAction: { executionId: executionOf('a') } });
    expect(executionsOf(state).get(executionOf('a'))?.stages[0]?.actions[0]).toMatchObject({ status: 'Stopped', deploymentId: deployments[0]?.deploymentId });
    expectStageEntries(run, { a: [1] });
  },
};
