import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeBuildService } from '../../lib/adapters/aws/codebuild-builds.js';
import { BUILD_PREFIX, revisionLocationProblem, sourcePrefixProblem } from '../../lib/domain/artifact-location.js';
import { buildIdempotencyToken, buildOutcome, buildOutputPath, buildSeenFromEvent } from '../../lib/domain/build.js';
import { DependencyError, ThrottledError, UnprocessableError, ValidationError } from '../../lib/errors.js';

const codebuild = mockClient(CodeBuildClient);
afterEach(() => codebuild.reset());
const service = () => new CodeBuildService(new CodeBuildClient({ region: 'us-east-1' }));
const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

const start = {
  project: 'web-build',
  source: { bucket: 'artifacts', key: 'web/app.zip', version: 'v1' },
  output: { bucket: 'fleetline-artifacts', path: buildOutputPath('web', 'e-1', 'build', 0), name: 'output.zip' },
  environmentVariables: [{ name: 'STAGE', value: 'prod' }, { name: 'TOKEN', value: '/app/token', type: 'PARAMETER_STORE' as const }],
  idempotencyToken: buildIdempotencyToken('e-1', 0, 1, 0),
};

describe('the CodeBuild adapter', () => {
  it('starts the project on the execution\'s revision, with the output under Fleetline\'s prefix, the variables and the idempotency token', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'web-build:1234' } });
    expect(await service().start({ ...start, buildspec: 'version: 0.2' })).toEqual({ buildId: 'web-build:1234' });
    expect(codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input).toEqual({
      projectName: 'web-build',
      sourceTypeOverride: 'S3',
      sourceLocationOverride: 'artifacts/web/app.zip',
      sourceVersion: 'v1',
      artifactsOverride: {
        type: 'S3',
        location: 'fleetline-artifacts',
        path: 'fleetline-builds/web/e-1/build/0',
        name: 'output.zip',
        namespaceType: 'NONE',
        packaging: 'ZIP',
        overrideArtifactName: false,
      },
      environmentVariablesOverride: [{ name: 'STAGE', value: 'prod', type: 'PLAINTEXT' }, { name: 'TOKEN', value: '/app/token', type: 'PARAMETER_STORE' }],
      buildspecOverride: 'version: 0.2',
      idempotencyToken: 'fleetline-e-1-0-1-0',
    });
  });

  it('names CodeBuild\'s refusal: a project that does not exist, a role that may not start it, bad input, throttling', async () => {
    const cases: [Error, new (...a: never[]) => Error, RegExp][] = [
      [awsError('ResourceNotFoundException', 'Project cannot be found: arn:aws:codebuild:us-east-1:123456789012:project/web-build'), UnprocessableError, /^CodeBuild StartBuild: project web-build does not exist in Fleetline's region \(ResourceNotFoundException: Project cannot be found/],
      [awsError('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/worker is not authorized'), UnprocessableError, /^CodeBuild refused StartBuild on project web-build \(AccessDeniedException\): Fleetline's worker role may start, read and stop only the projects the buildProjects parameter names$/],
      [awsError('InvalidInputException', 'Invalid source location'), ValidationError, /^CodeBuild refused StartBuild on project web-build: Invalid source location$/],
      [awsError('AccountLimitExceededException'), ThrottledError, /throttling StartBuild/],
      [awsError('InternalFailure'), DependencyError, /^CodeBuild StartBuild on project web-build failed \(InternalFailure\); retried later$/],
    ];
    for (const [error, type, message] of cases) {
      codebuild.reset();
      codebuild.on(StartBuildCommand).rejects(error);
      const thrown = await service().start(start).catch((e: Error) => e);
      expect(thrown, error.name).toBeInstanceOf(type);
      expect((thrown as Error).message, error.name).toMatch(message);
    }
  });

  it('reads a build back (the reconciler\'s backstop): status, the failed phase and its message, the log link, exported variables', async () => {
    codebuild.on(BatchGetBuildsCommand, { ids: ['web-build:1234'] }).resolves({
      builds: [{
        id: 'web-build:1234',
        buildStatus: 'FAILED',
        phases: [
          { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' },
          { phaseType: 'INSTALL', phaseStatus: 'SUCCEEDED' },
          { phaseType: 'BUILD', phaseStatus: 'FAILED', contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'Error while executing command: make. Reason: exit status 2' }] },
          { phaseType: 'POST_BUILD', phaseStatus: 'SUCCEEDED' },
          { phaseType: 'COMPLETED' },
        ],
        logs: { deepLink: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:x' },
        exportedEnvironmentVariables: [{ name: 'IMAGE_TAG', value: 'v7' }],
      }],
    });
    expect(await service().get('web-build:1234')).toEqual({
      buildId: 'web-build:1234',
      status: 'FAILED',
      failedPhase: 'BUILD',
      failedPhaseMessage: 'COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2',
      logLink: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:x',
      exportedVariables: { IMAGE_TAG: 'v7' },
    });
    codebuild.on(BatchGetBuildsCommand, { ids: ['gone:1'] }).resolves({ builds: [], buildsNotFound: ['gone:1'] });
    expect(await service().get('gone:1')).toBeUndefined();
  });

  it('stops a build, and leaves one that has ended alone', async () => {
    codebuild.on(StopBuildCommand, { id: 'web-build:1' }).resolves({ build: { id: 'web-build:1', buildStatus: 'STOPPED' } });
    await service().stop('web-build:1');
    expect(codebuild.commandCalls(StopBuildCommand)).toHaveLength(1);
    codebuild.on(StopBuildCommand, { id: 'web-build:2' }).rejects(awsError('InvalidInputException', 'Build web-build:2 is not in progress'));
    await expect(service().stop('web-build:2')).resolves.toBeUndefined();
    codebuild.on(StopBuildCommand, { id: 'web-build:3' }).rejects(awsError('AccessDeniedException'));
    await expect(service().stop('web-build:3')).rejects.toThrow(/refused StopBuild on project web-build/);
  });
});

describe('a build\'s outcome', () => {
  it('succeeds on SUCCEEDED and fails on every other end naming the build, status, phase and log', () => {
    expect(buildOutcome({ buildId: 'p:1', status: 'SUCCEEDED' })).toEqual({ succeeded: true });
    for (const status of ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] as const) {
      expect(buildOutcome({ buildId: 'p:1', status, failedPhase: 'BUILD', failedPhaseMessage: 'exit status 2', logLink: 'https://logs/x' })).toEqual({
        succeeded: false,
        error: `Build p:1 ${status} in BUILD: exit status 2 (log: https://logs/x)`,
      });
    }
    expect(buildOutcome({ buildId: 'p:1', status: 'FAULT' })).toEqual({ succeeded: false, error: 'Build p:1 FAULT' });
  });

  it('reads EventBridge\'s "CodeBuild Build State Change" detail, and nothing that is not one', () => {
    const detail = {
      'build-status': 'TIMED_OUT',
      'project-name': 'web-build',
      'build-id': 'arn:aws:codebuild:us-east-1:123456789012:build/web-build:8f4c',
      'additional-information': {
        phases: [
          { 'phase-type': 'DOWNLOAD_SOURCE', 'phase-status': 'SUCCEEDED', 'phase-context': [': '] },
          { 'phase-type': 'BUILD', 'phase-status': 'TIMED_OUT', 'phase-context': ['BUILD_TIMEOUT: Build has timed out. '] },
          { 'phase-type': 'COMPLETED' },
        ],
        logs: { 'deep-link': 'https://console.aws.amazon.com/x' },
        environment: { 'environment-variables': [{ name: 'FLEETLINE_EXECUTION_ID', value: 'e-1', type: 'PLAINTEXT' }] },
      },
    };
    expect(buildSeenFromEvent(detail)).toEqual({
      buildId: 'web-build:8f4c',
      project: 'web-build',
      status: 'TIMED_OUT',
      failedPhase: 'BUILD',
      failedPhaseMessage: 'BUILD_TIMEOUT: Build has timed out. ',
      logLink: 'https://console.aws.amazon.com/x',
      exportedVariables: undefined,
      variables: { FLEETLINE_EXECUTION_ID: 'e-1' },
    });
    expect(buildSeenFromEvent({ ...detail, 'build-status': 'EXPLODED' })).toBeUndefined();
    expect(buildSeenFromEvent({ ...detail, 'build-id': 'web-build:8f4c' })).toBeUndefined();
    expect(buildSeenFromEvent('not an object')).toBeUndefined();
  });

  it('keeps build outputs under a reserved prefix no pipeline or application may name', () => {
    expect(buildOutputPath('web', 'e-1', 'build', 2)).toBe(`${BUILD_PREFIX}web/e-1/build/2`);
    expect(sourcePrefixProblem('fleetline-builds/web/')).toMatch(/reserved prefix fleetline-builds\//);
    expect(revisionLocationProblem({ bucket: 'b-1', key: `${BUILD_PREFIX}web/e-1/build/0/output.zip` }, [{ bucket: 'b-1', prefix: 'web/' }])).toMatch(/reserved for Fleetline/);
  });
});
