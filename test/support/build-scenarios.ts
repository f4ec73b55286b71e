import { expect } from 'vitest';
import type { BuildStatus } from '../../lib/domain/build.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import { type FakeBuild, type FakeBuilds, buildStateChange } from '../fakes/aws.js';
import { type LabRun, type LabState, type Scenario, type Step, settleStream } from './engine-lab.js';
import { BUCKET, deploymentsOf, registerFleet } from './engine-scenarios.js';
import {
  type Build,
  type PipelineContext,
  type Stage,
  agent,
  executionOf,
  executionsOf,
  expectEnds,
  expectStageEntries,
  savePipeline,
  stop,
  upload,
  worker,
} from './pipeline-scenarios.js';

/**
 * Pipelines with a build action (CodeBuild behind the fakes' BuildService):
 * the engine starts each build once whatever crashes under it, learns its end
 * from the state-change event (or, when that is lost, reads it), and deploys
 * the build's output, never the source. Run on the fakes only: the fake
 * CodeBuild writes its output into the fakes' S3.
 */

const builds = (run: LabRun): FakeBuilds => {
  if (!run.backend.builds) throw new Error(`The ${run.backend.name} lab has no CodeBuild`);
  return run.backend.builds;
};

/** The builds started for `build`'s execution. */
const buildsOf = (run: LabRun, build: Build): FakeBuild[] =>
  builds(run).builds.filter((b) => b.request.environmentVariables.some((v) => v.name === 'FLEETLINE_EXECUTION_ID' && v.value === executionOf(build)));

const compile = (extra: Record<string, unknown> = {}): Stage => ({
  name: 'Build',
  actions: [{ type: 'build', name: 'compile', project: 'web-build', environmentVariables: [{ name: 'TARGET', value: 'staging' }], ...extra }],
});
const deployStaging: Stage = { name: 'staging', actions: [{ type: 'deploy', application: 'web', group: 'staging' }] };

/**
 * CodeBuild ends the execution's build (once: a build that ended stays so) and
 * EventBridge delivers its state change to the worker. A crashed worker's
 * record is handed to a healthy one first, and a build start the stream gave
 * up on is the reconciler's, as it would be within a minute.
 */
const buildEnds = (build: Build, status: Exclude<BuildStatus, 'IN_PROGRESS'>, failedPhase?: string): Step<PipelineContext> => async (engine, _c, run) => {
  await settleStream(run, engine);
  if (buildsOf(run, build).length === 0) {
    await reconcileAll(engine.deps);
    await settleStream(run, engine);
  }
  const started = buildsOf(run, build);
  expect(started, `builds started for ${build}`).toHaveLength(1);
  run.clock.advance(30);
  await engine.buildEvents(builds(run).finish(started[0]!.id, status, failedPhase));
  await settleStream(run, engine);
};

/** CodeBuild's event for a build that ended without the engine asking it to (a stop's StopBuild). */
const buildEventDelivered = (build: Build): Step<PipelineContext> => async (engine, _c, run) => {
  for (const started of buildsOf(run, build)) {
    if (started.status !== 'IN_PROGRESS') await engine.buildEvents(builds(run).finish(started.id, 'STOPPED'));
  }
  await settleStream(run, engine);
};

const executionOfBuild = (state: LabState, build: Build): Execution | undefined => executionsOf(state).get(executionOf(build));

/** source → build → deploy: the build runs once on the uploaded revision, and staging gets the build's output. */
export const builtThenDeployed: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {});
    await savePipeline(run, [compile(), deployStaging]);
    return { agents };
  },
  steps: [upload('a'), buildEnds('a', 'SUCCEEDED'), worker, agent(0), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded' });
    const [started, ...others] = buildsOf(run, 'a');
    expect(others, 'one build, whatever crashed').toEqual([]);
    const output = `fleetline-builds/web/${executionOf('a')}/compile/0/output.zip`;
    expect(started?.request).toMatchObject({
      project: 'web-build',
      source: { bucket: BUCKET, key: 'web/pipe/build-a.zip', version: 'v1' },
      output: { bucket: BUCKET, path: `fleetline-builds/web/${executionOf('a')}/compile/0`, name: 'output.zip' },
      idempotencyToken: `fleetline-${executionOf('a')}-0-0-0`,
    });
    expect(started?.request.environmentVariables).toEqual([
      { name: 'TARGET', value: 'staging' },
      { name: 'FLEETLINE_EXECUTION_ID', value: executionOf('a') },
      { name: 'FLEETLINE_PIPELINE', value: 'web' },
      { name: 'FLEETLINE_ACTION', value: 'compile' },
    ]);
    const execution = executionOfBuild(state, 'a');
    expect(execution?.stages[0]?.actions[0]).toMatchObject({ type: 'build', status: 'Succeeded', buildId: started?.id, output: { bucket: BUCKET, key: output }, logLink: expect.stringContaining('/aws/codebuild/web-build') });
    const deployments = deploymentsOf(state);
    expect(deployments.map((d) => `${d.group}:${d.status}:${d.revision.key}`), 'the build output is deployed, not the source').toEqual([`staging:Succeeded:${output}`]);
    expect(execution?.stages[1]?.actions[0]).toMatchObject({ status: 'Succeeded', input: 'compile', deploymentId: deployments[0]?.deploymentId });
    expectStageEntries(run, { a: [1, 1] });
  },
};

/** The build fails in BUILD: its output is still uploaded (CodeBuild's UPLOAD_ARTIFACTS runs), and the deploy action never starts. */
export const buildFailed: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {});
    await savePipeline(run, [compile(), deployStaging]);
    return { agents };
  },
  steps: [upload('a'), buildEnds('a', 'FAILED', 'BUILD'), worker],
  check(state, _c, run) {
    expectEnds(state, { a: 'Failed' });
    const [started] = buildsOf(run, 'a');
    const execution = executionOfBuild(state, 'a');
    const error = `Build ${started?.id} FAILED in BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2 (log: ${builds(run).seen(started!).logLink})`;
    expect(execution?.stages[0]?.actions[0]).toMatchObject({ status: 'Failed', error });
    expect(execution?.error).toBe(error);
    expect(execution?.stages[1]?.status, 'the deploy stage never started').toBe('Pending');
    expect(deploymentsOf(state)).toEqual([]);
    expectStageEntries(run, { a: [1, 0] });
  },
};

/** The execution is stopped while its build runs: the build is stopped (StopBuild), nothing is deployed. */
export const stoppedMidBuild: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {});
    await savePipeline(run, [compile(), deployStaging]);
    return { agents };
  },
  steps: [upload('a'), worker, stop('a'), worker, buildEventDelivered('a')],
  check(state, _c, run) {
    expectEnds(state, { a: 'Stopped' });
    const started = buildsOf(run, 'a');
    // A stop recorded before the build started (a crash in between) leaves nothing to stop.
    for (const build of started) expect(build, 'the build was stopped').toMatchObject({ status: 'STOPPED', stopRequests: expect.any(Number) });
    expect(started.every((b) => b.stopRequests >= 1)).toBe(true);
    expect(executionOfBuild(state, 'a')?.stages[0]).toMatchObject({ status: 'Stopped', actions: [{ status: 'Stopped' }] });
    expect(deploymentsOf(state)).toEqual([]);
  },
};

/** A build action names a project CodeBuild does not have: the action fails naming it, and nothing is deployed. */
export const unknownProject: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {});
    await savePipeline(run, [{ name: 'Build', actions: [{ type: 'build', name: 'compile', project: 'web-missing' }] }, deployStaging]);
    return { agents };
  },
  steps: [upload('a'), worker],
  check(state) {
    expectEnds(state, { a: 'Failed' });
    expect(executionOfBuild(state, 'a')?.error).toBe(
      "Build action compile could not start: CodeBuild StartBuild: project web-missing does not exist in Fleetline's region (ResourceNotFoundException: Project cannot be found)",
    );
    expect(deploymentsOf(state)).toEqual([]);
  },
};

/**
 * Anyone who may start builds of the project can make CodeBuild send a state change naming
 * the execution: an event about another build records nothing (the action's own build is
 * read instead), so a forged failure fails nothing and a forged success deploys nothing.
 */
export const forgedBuildEvents: Scenario<PipelineContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'web', 'staging', 1, {});
    await savePipeline(run, [compile(), deployStaging]);
    return { agents };
  },
  steps: [
    upload('a'),
    worker,
    async (engine, _c, run) => {
      const forged = (status: 'FAILED' | 'SUCCEEDED') => buildStateChange(
        { buildId: `web-build:forged-${status}`, status, failedPhase: status === 'FAILED' ? 'BUILD' : undefined },
        { project: 'web-build', environmentVariables: [{ name: 'FLEETLINE_EXECUTION_ID', value: executionOf('a') }] },
      );
      await engine.buildEvents(forged('FAILED'));
      await engine.buildEvents(forged('SUCCEEDED'));
      await settleStream(run, engine);
    },
    buildEnds('a', 'SUCCEEDED'),
    worker,
    agent(0),
    worker,
  ],
  check(state, _c, run) {
    expectEnds(state, { a: 'Succeeded' });
    const [started] = buildsOf(run, 'a');
    expect(executionOfBuild(state, 'a')?.stages[0]?.actions[0]).toMatchObject({ status: 'Succeeded', buildId: started?.id });
    expect(deploymentsOf(state).map((d) => `${d.status}:${d.revision.key}`)).toEqual([`Succeeded:fleetline-builds/web/${executionOf('a')}/compile/0/output.zip`]);
  },
};

/** Build scenarios for the crash matrix on the fakes, with the fewest writes each must make. */
export const BUILD_CRASH_SCENARIOS: [name: string, scenario: Scenario<any>, minimumWrites: number][] = [
  ['source → build → deploy: one build, its output (not the source) deployed', builtThenDeployed, 15],
  ['the build fails in BUILD: the action fails naming build, status, phase and log; the deploy action never starts', buildFailed, 5],
  ['the execution is stopped mid-build: the build is stopped, nothing deployed', stoppedMidBuild, 4],
  ['a build of a project CodeBuild does not have: the action fails naming it, nothing deployed', unknownProject, 3],
  ['state changes of builds the action did not start (forged) record nothing; its own build decides', forgedBuildEvents, 15],
];
