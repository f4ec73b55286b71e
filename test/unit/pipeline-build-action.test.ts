import { describe, expect, it } from 'vitest';
import { type Execution, type Pipeline, MAX_BUILD_TEXT_CHARS, initialStages, normalizePipeline, pipelineBodySchema } from '../../lib/domain/pipeline.js';
import { decidePipelineStep, deployInput, deploysSource } from '../../lib/domain/pipeline-step.js';
import { issuesToDetails } from '../../lib/domain/validation.js';
import { assertBuildAuthority, assertMayDeployEverywhere } from '../../lib/pipelines/pipeline-authority.js';
import { assertRevisionAllowed } from '../../lib/deployments/revision-scope.js';

const source = { bucket: 'fleetline-artifacts', prefix: 'web/', suffix: '.zip' };
const deploy = (group: string, extra: Record<string, unknown> = {}) => ({ type: 'deploy', application: 'web', group, ...extra });
const build = (extra: Record<string, unknown> = {}) => ({ type: 'build', project: 'web-build', ...extra });

/** Every problem the API would name for this body, as `path: message`. */
function problems(body: unknown): string[] {
  const parsed = pipelineBodySchema.safeParse(body);
  return parsed.success ? [] : issuesToDetails(parsed.error.issues).map((d) => `${d.path}: ${d.message}`);
}

describe('a pipeline with build actions, as the API validates it', () => {
  it('names every problem of a bad build action at once, each at its JSON path', () => {
    const found = problems({
      source,
      stages: [{
        name: 'Build',
        actions: [{
          type: 'build',
          project: 'a',
          environmentVariables: [
            { name: '1BAD', value: 'x' },
            { name: 'CODEBUILD_BUILD_ID', value: 'x' },
            { name: 'OK', value: 'x', type: 'SECRET' },
            { name: 'LONG', value: 'v'.repeat(4097) },
            { name: 'NOVALUE' },
          ],
          buildspec: '',
          image: 'aws/codebuild/standard:7.0',
        }],
      }],
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.project: must be a CodeBuild project name/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.environmentVariables\[0\]\.name: must be an environment variable name/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.environmentVariables\[1\]\.name: must not start with CODEBUILD_/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.environmentVariables\[2\]\.type: must be PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.environmentVariables\[3\]\.value: must be at most 4096 characters/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.environmentVariables\[4\]\.value: must be a string/),
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.buildspec: must not be empty/),
      "$.stages[0].actions[0].image: is not a known field",
    ]));
    expect(found).toHaveLength(8);
  });

  it('refuses a build without a project, and an unknown action type names all three', () => {
    expect(problems({ source, stages: [{ name: 'B', actions: [{ type: 'build' }] }] })).toEqual([
      expect.stringMatching(/^\$\.stages\[0\]\.actions\[0\]\.project: is required: the CodeBuild project/),
    ]);
    expect(problems({ source, stages: [{ name: 'B', actions: [{ type: 'test' }] }] })).toEqual([
      expect.stringMatching(/type must be deploy, approval or build/),
    ]);
  });

  it("refuses an input that names no build of an earlier stage: a later stage's, the same stage's, or none", () => {
    expect(problems({ source, stages: [{ name: 'Staging', actions: [deploy('staging', { input: 'compile' })] }] })).toEqual([
      '$.stages[0].actions[0].input: names no build action of an earlier stage (there is none): a deploy action takes the output of a build in a stage before its own',
    ]);
    expect(problems({
      source,
      stages: [
        { name: 'Build', actions: [build({ name: 'compile' })] },
        { name: 'Staging', actions: [build({ name: 'package' }), deploy('staging', { input: 'package' }), deploy('qa', { input: 'nothing' })] },
        { name: 'Prod', actions: [deploy('prod', { input: 'package' })] },
      ],
    })).toEqual([
      '$.stages[1].actions[1].input: names no build action of an earlier stage (these are: compile)',
      '$.stages[1].actions[2].input: names no build action of an earlier stage (these are: compile)',
    ]);
  });

  it('refuses two builds of one name in different stages: an output is named by its action', () => {
    expect(problems({ source, stages: [{ name: 'A', actions: [build({ name: 'compile' })] }, { name: 'B', actions: [build({ name: 'compile' })] }] })).toEqual([
      '$.stages[1].actions[0].name: repeats the build action name "compile" of an earlier stage: a build\'s output is named by its action',
    ]);
  });

  it("caps the pipeline's buildspecs and variables together: they are copied into every execution", () => {
    const big = build({ buildspec: 'x'.repeat(16_000) });
    const stages = Array.from({ length: 5 }, (_, s) => ({ name: `S${s}`, actions: [{ ...big, name: `b${s}` }] }));
    expect(problems({ source, stages })).toEqual([expect.stringMatching(new RegExp(`^\\$\\.stages: build actions' buildspecs and variables hold at most ${MAX_BUILD_TEXT_CHARS} characters in all \\(these hold 80000\\)`))]);
  });

  it('accepts source → build → deploy of its output, naming the actions as it does every action', () => {
    const parsed = pipelineBodySchema.parse({
      source,
      stages: [
        { name: 'Build', actions: [build({ environmentVariables: [{ name: 'STAGE', value: 'prod' }, { name: 'TOKEN', value: '/web/token', type: 'PARAMETER_STORE' }], buildspec: 'version: 0.2\n' })] },
        { name: 'Staging', actions: [deploy('staging', { input: 'build-1' })] },
      ],
    });
    expect(normalizePipeline(parsed).stages).toEqual([
      { name: 'Build', actions: [{ type: 'build', name: 'build-1', project: 'web-build', environmentVariables: [{ name: 'STAGE', value: 'prod' }, { name: 'TOKEN', value: '/web/token', type: 'PARAMETER_STORE' }], buildspec: 'version: 0.2\n' }] },
      { name: 'Staging', actions: [{ type: 'deploy', name: 'deploy-1', application: 'web', group: 'staging', input: 'build-1' }] },
    ]);
  });
});

const NOW = '2026-01-01T12:00:00.000Z';
const definition: Pipeline['stages'] = [
  { name: 'Build', actions: [{ type: 'build', name: 'compile', project: 'web-build' }] },
  { name: 'Package', actions: [{ type: 'build', name: 'package', project: 'web-package' }] },
  { name: 'Staging', actions: [{ type: 'deploy', name: 'deploy-1', application: 'web', group: 'staging' }, { type: 'deploy', name: 'deploy-2', application: 'web', group: 'qa', input: 'compile' }] },
];

function execution(stageIndex: number, changes: (ex: Execution) => void = () => {}): Execution {
  const ex: Execution = {
    executionId: 'e-1', pipeline: 'web', definition, revision: { bucket: 'b', key: 'web/app.zip', version: 'v1' }, trigger: { type: 'S3', by: 'ci' },
    status: 'InProgress', stageIndex, waiting: false, stages: initialStages({ stages: definition }), createdAt: NOW, updatedAt: NOW,
    preflight: { ok: true, problems: [] }, version: 1,
  };
  ex.stages = ex.stages.map((s, k) => (k < stageIndex ? { ...s, status: 'Succeeded', actions: s.actions.map((a) => ({ ...a, status: 'Succeeded', output: { bucket: 'art', key: `fleetline-builds/web/e-1/${a.name}/0/output.zip` } })) } : k === stageIndex ? { ...s, status: 'InProgress' } : s));
  changes(ex);
  return ex;
}

describe('deciding a build action', () => {
  it('starts the build with its attempt, so a retried stage starts a distinct build', () => {
    expect(decidePipelineStep(execution(0), NOW)).toEqual({ kind: 'startBuild', at: { stage: 0, action: 0 }, project: 'web-build', attempt: 0 });
    expect(decidePipelineStep(execution(0, (ex) => { ex.stages[0]!.actions[0]!.attempt = 3; }), NOW)).toMatchObject({ kind: 'startBuild', attempt: 3 });
  });

  it('a running build is read (the backstop) unless its own state came with the call, and waits while it runs', () => {
    const ex = execution(0, (e) => { Object.assign(e.stages[0]!.actions[0]!, { status: 'InProgress', buildId: 'web-build:1' }); });
    expect(decidePipelineStep(ex, NOW)).toEqual({ kind: 'readBuild', at: { stage: 0, action: 0 }, buildId: 'web-build:1' });
    expect(decidePipelineStep(ex, NOW, undefined, { buildId: 'web-build:2', status: 'SUCCEEDED' })).toMatchObject({ kind: 'readBuild' });
    expect(decidePipelineStep(ex, NOW, undefined, { buildId: 'web-build:1', status: 'IN_PROGRESS' })).toEqual({ kind: 'wait' });
  });

  it('SUCCEEDED succeeds the action; every other end fails it naming the build, status, failed phase and log', () => {
    const ex = execution(0, (e) => { Object.assign(e.stages[0]!.actions[0]!, { status: 'InProgress', buildId: 'web-build:1' }); });
    expect(decidePipelineStep(ex, NOW, undefined, { buildId: 'web-build:1', status: 'SUCCEEDED', logLink: 'https://log' })).toEqual({
      kind: 'recordAction', at: { stage: 0, action: 0 }, changes: { status: 'Succeeded', endedAt: NOW, logLink: 'https://log' },
    });
    for (const status of ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] as const) {
      expect(decidePipelineStep(ex, NOW, undefined, { buildId: 'web-build:1', status, failedPhase: 'BUILD', failedPhaseMessage: 'COMMAND_EXECUTION_ERROR: make exited 2', logLink: 'https://log' })).toEqual({
        kind: 'recordAction',
        at: { stage: 0, action: 0 },
        changes: { status: 'Failed', endedAt: NOW, logLink: 'https://log', error: `Build web-build:1 ${status} in BUILD: COMMAND_EXECUTION_ERROR: make exited 2 (log: https://log)` },
      });
    }
  });
});

describe("what a deploy action deploys", () => {
  it('by default the output of the most recent build in an earlier stage; `input` picks another', () => {
    const ex = execution(2);
    expect(deployInput(ex, 2, undefined)).toEqual({ kind: 'build', action: 'package', revision: { bucket: 'art', key: 'fleetline-builds/web/e-1/package/0/output.zip' } });
    expect(deployInput(ex, 2, 'compile')).toEqual({ kind: 'build', action: 'compile', revision: { bucket: 'art', key: 'fleetline-builds/web/e-1/compile/0/output.zip' } });
    expect(decidePipelineStep(ex, NOW)).toMatchObject({ kind: 'startDeploy', input: undefined });
  });

  it('the source when no earlier stage builds', () => {
    expect(deployInput(execution(0), 0, undefined)).toEqual({ kind: 'source', revision: { bucket: 'b', key: 'web/app.zip', version: 'v1' } });
  });

  it('nothing, named, when the build left no output or the input names no earlier build', () => {
    const noOutput = execution(2, (ex) => { delete ex.stages[1]!.actions[0]!.output; });
    expect(deployInput(noOutput, 2, undefined)).toEqual({ problem: 'the build action package has no output to deploy (it is Succeeded)' });
    expect(deployInput(execution(2), 2, 'deploy-1')).toEqual({ problem: 'the input deploy-1 names no build action of an earlier stage' });
  });

  it('the source is checked as a bundle at preflight only when some deploy action deploys it', () => {
    expect(deploysSource(definition)).toBe(false);
    expect(deploysSource([{ name: 'S', actions: [{ type: 'deploy', name: 'd', application: 'web', group: 'staging' }] }, ...definition])).toBe(true);
    expect(deploysSource([{ name: 'S', actions: [{ type: 'build', name: 'b', project: 'p' }, { type: 'deploy', name: 'd', application: 'web', group: 'staging' }] }])).toBe(true);
  });
});

describe('who may save and run a build action', () => {
  const grants = (allowed: string[]) => ({
    decide: async (_principal: string, action: string, resource: string) =>
      allowed.includes(`${action} ${resource}`) ? { allowed: true as const, rule: 'admin' as const } : { allowed: false as const, reason: 'no rule' },
  });
  const stages = [
    { actions: [{ type: 'build' as const, project: 'web-build' }, { type: 'approval' as const }] },
    { actions: [{ type: 'deploy' as const, application: 'web', group: 'prod' }] },
  ];

  it('saving needs builds:start on each project beside deployments:create on each group, every refusal named', async () => {
    await expect(assertMayDeployEverywhere('arn:aws:iam::1:user/eve', stages, { authorizer: grants([]) as never })).rejects.toMatchObject({
      details: [
        { path: '$.stages[0].actions[0]', message: 'builds:start on build-project/web-build is not allowed' },
        { path: '$.stages[1].actions[0]', message: 'deployments:create on application/web/group/prod is not allowed' },
      ],
    });
    await expect(assertMayDeployEverywhere('arn:aws:iam::1:user/ann', stages, {
      authorizer: grants(['builds:start build-project/web-build', 'deployments:create application/web/group/prod']) as never,
    })).resolves.toBeUndefined();
  });

  it("a build runs with its pipeline author's authority, checked again when it starts", async () => {
    await expect(assertBuildAuthority({ pipeline: 'web' }, 'web-build', { authorizer: grants([]) as never })).rejects.toThrow(/no recorded author to build as/);
    await expect(assertBuildAuthority({ pipeline: 'web', authority: 'arn:aws:iam::1:user/ann' }, 'web-build', { authorizer: grants([]) as never }))
      .rejects.toThrow('Pipeline "web" builds as its author arn:aws:iam::1:user/ann, who may no longer builds:start on build-project/web-build');
  });
});

describe("a build's output as a revision", () => {
  const deps = { applications: { get: async () => ({ name: 'web' }) as never }, artifactBucket: 'art' };
  const output = { bucket: 'art', key: 'fleetline-builds/web/e-0123456789abcdef/compile/0/output.zip' };

  it('is refused to every request: it is under a reserved prefix, not a source anyone can point at', async () => {
    await expect(assertRevisionAllowed('web', output, deps)).rejects.toThrow(/is under fleetline-builds\/, which is reserved for Fleetline's own objects and can never be deployed/);
  });

  it("is deployable by its own execution's deploy actions alone, and only from the artifact bucket", async () => {
    await expect(assertRevisionAllowed('web', output, deps, { kind: 'buildOutput', pipeline: 'web', executionId: 'e-0123456789abcdef' })).resolves.toBeUndefined();
    await expect(assertRevisionAllowed('web', output, deps, { kind: 'buildOutput', pipeline: 'web', executionId: 'e-fedcba9876543210' })).rejects.toThrow(/reserved/);
    await expect(assertRevisionAllowed('web', output, deps, { kind: 'buildOutput', pipeline: 'we', executionId: 'e-0123456789abcdef' })).rejects.toThrow(/reserved/);
    await expect(assertRevisionAllowed('web', { ...output, bucket: 'other' }, deps, { kind: 'buildOutput', pipeline: 'web', executionId: 'e-0123456789abcdef' })).rejects.toThrow(/reserved/);
    const escaping = { bucket: 'art', key: 'fleetline-builds/web/e-0123456789abcdef/../../../fleetline-logs/x.zip' };
    await expect(assertRevisionAllowed('web', escaping, deps, { kind: 'buildOutput', pipeline: 'web', executionId: 'e-0123456789abcdef' })).rejects.toThrow(/reserved/);
  });

  it("goes back by rollback (the group's last success), and the exception opens no other reserved prefix", async () => {
    await expect(assertRevisionAllowed('web', output, deps, { kind: 'lastSuccess' })).resolves.toBeUndefined();
    await expect(assertRevisionAllowed('web', { bucket: 'art', key: 'fleetline-logs/d-1/i-1.log' }, deps, { kind: 'lastSuccess' })).rejects.toThrow(/reserved/);
  });
});
