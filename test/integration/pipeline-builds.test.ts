import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { extractBundle } from '../../agent/extract/index.js';
import { createBuildEventHandler } from '../../lib/worker/handle-build-event.js';
import { LocalBuildService } from '../../local/build/local-build-service.js';
import { waitFor } from '../../local/ports.js';
import { testS3Client, useApi } from '../support/api-harness.js';
import { MINIMAL_APPSPEC, zipBundle } from '../support/bundles.js';
import { ScriptedAgent } from '../support/scripted-agent.js';

/**
 * Build actions on the local stack's parts: DynamoDB Local, s3rver, the worker
 * fed by the stream, and the local build service (the built-in buildspec
 * runner in a temporary copy of the source), whose ends reach the worker as
 * CodeBuild's state-change events.
 */
const local: { builds?: LocalBuildService } = {};
const api = useApi(() => {
  local.builds = new LocalBuildService({ s3: testS3Client(), onEnded: (event) => createBuildEventHandler(api.deps)(event), timeLimitMs: 60_000 });
  return { builds: local.builds };
});
afterAll(() => local.builds?.close());

const BUCKET = 'fleetline-test-artifacts'; // the harness's artifact bucket
let counter = 0;

const BUILDS_TO_OUT = `version: 0.2
env:
  variables:
    GREETING: hello
phases:
  build:
    commands:
      - mkdir -p out
      - "printf 'version: 0.0\\nos: linux\\n' > out/appspec.yml"
      - echo "$GREETING from $TARGET" > out/built.txt
artifacts:
  base-directory: out
  files:
    - '**/*'
`;

/** An application with a staging group of one instance, a pipeline source → build → staging, and a source revision uploaded. */
async function setup(buildspec: string, options: { sourceIsBundle?: boolean } = {}) {
  const n = ++counter;
  const app = `built-${n}`;
  await api.call('PUT', `/applications/${app}`);
  const tag = { key: 'stage', value: `${app}-staging` };
  await api.call('PUT', `/applications/${app}/groups/staging`, { body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] } } });
  await api.call('PUT', `/instances/${app}-1`, { body: { tags: [tag] } });
  const agent = new ScriptedAgent(api.send, `${app}-1`, api.settle);
  const pipeline = `pipe-${app}`;
  const put = await api.call('PUT', `/pipelines/${pipeline}`, {
    body: {
      source: { bucket: BUCKET, prefix: `${app}/`, suffix: '.zip' },
      stages: [
        { name: 'Build', actions: [{ type: 'build', name: 'compile', project: 'local-build', environmentVariables: [{ name: 'TARGET', value: 'staging' }] }] },
        { name: 'Staging', actions: [{ type: 'deploy', application: app, group: 'staging' }] },
      ],
    },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(201);
  const key = `${app}/src.zip`;
  const files = [{ path: 'buildspec.yml', content: buildspec }, ...(options.sourceIsBundle ? [{ path: 'appspec.yml', content: MINIMAL_APPSPEC }] : [])];
  await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await zipBundle(files) }));
  const started = await api.call('POST', `/pipelines/${pipeline}/executions`, { body: { revision: { bucket: BUCKET, key } } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return { app, agent, executionId: started.body.executionId as string };
}

const execution = async (id: string) => (await api.call('GET', `/executions/${id}`)).body;

/**
 * Reads the execution until what follows its build is recorded (the build runs as a real
 * process): the execution has ended, or its deploy action has created its deployment.
 */
async function afterBuild(executionId: string) {
  let ex: any;
  await waitFor('the build action to end and the execution to move on', async () => {
    ex = await execution(executionId);
    return ex.status !== 'InProgress' || ex.stages[1].actions[0].deploymentId !== undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  return ex;
}

async function objectText(key: string): Promise<string> {
  const object = await api.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return object.Body!.transformToString();
}

/** The files of a zip in the bucket, by path. */
async function zipFiles(key: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetline-test-output-'));
  try {
    const object = await api.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    await writeFile(join(dir, 'o.zip'), await object.Body!.transformToByteArray());
    await extractBundle(join(dir, 'o.zip'), 'zip', join(dir, 'x'));
    const read = async (path: string) => readFile(join(dir, 'x', path), 'utf8').catch(() => undefined);
    return Object.fromEntries((await Promise.all(['appspec.yml', 'built.txt', 'buildspec.yml'].map(async (p) => [p, await read(p)] as const))).filter(([, v]) => v !== undefined)) as Record<string, string>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a pipeline that builds, on the local stack', () => {
  it("runs the source's buildspec, then deploys the build's output to the hosts, not the source", async () => {
    const { app, agent, executionId } = await setup(BUILDS_TO_OUT);
    const built = await afterBuild(executionId);
    const action = built.stages[0].actions[0];
    expect(action, JSON.stringify(built)).toMatchObject({ type: 'build', status: 'Succeeded', buildId: expect.stringMatching(/^local-build:/) });
    const output = `fleetline-builds/pipe-${app}/${executionId}/compile/0/output.zip`;
    expect(action.output).toEqual({ bucket: BUCKET, key: output });
    expect(await zipFiles(output)).toEqual({ 'appspec.yml': 'version: 0.0\nos: linux\n', 'built.txt': 'hello from staging\n' });
    // The full log, one link away, beside hook logs (never a revision).
    expect(action.logLink).toBe(`s3://${BUCKET}/fleetline-logs/builds/pipe-${app}/${executionId}/compile/0.log`);
    expect(await objectText(`fleetline-logs/builds/pipe-${app}/${executionId}/compile/0.log`)).toMatch(/Entering phase BUILD[\s\S]*Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED/);

    const deploymentId = await agent.runBatched();
    expect(deploymentId).toBeDefined();
    const deployment = (await api.call('GET', `/deployments/${deploymentId}`)).body;
    expect(deployment.revision).toMatchObject({ bucket: BUCKET, key: output });
    const ex = await execution(executionId);
    expect(ex.status, JSON.stringify(ex)).toBe('Succeeded');
    expect(ex.stages[1].actions[0]).toMatchObject({ status: 'Succeeded', input: 'compile', deploymentId });
  });

  it('when the build fails in BUILD, artifacts are still uploaded and the deploy action does not start', async () => {
    const failing = BUILDS_TO_OUT.replace('      - echo "$GREETING from $TARGET" > out/built.txt\n', '      - echo "$GREETING from $TARGET" > out/built.txt\n      - echo compiling failed; exit 3\n');
    const { app, executionId } = await setup(failing);
    const ex = await afterBuild(executionId);
    const action = ex.stages[0].actions[0];
    expect(ex.status).toBe('Failed');
    expect(action.error).toMatch(new RegExp(`^Build ${action.buildId} FAILED in BUILD: .*last lines: .*compiling failed.* \\(log: s3://${BUCKET}/fleetline-logs/builds/`));
    expect(ex.error).toBe(action.error);
    expect(Object.keys(await zipFiles(`fleetline-builds/pipe-${app}/${executionId}/compile/0/output.zip`)).sort()).toEqual(['appspec.yml', 'built.txt']);
    expect(ex.stages[1]).toMatchObject({ status: 'Pending', actions: [{ status: 'Pending' }] });
    expect((await api.call('GET', '/deployments', { query: { application: app } })).body.items).toEqual([]);
  });

  const badInput: [string, string, RegExp][] = [
    ['a buildspec that is not YAML names the line and column', 'version: 0.2\nphases:\n  build:\n    commands: [unclosed\n', /^Build local-build:\S+ FAILED in DOWNLOAD_SOURCE: .*line \d+, column \d+/],
    ['an unknown buildspec version is named', 'version: 0.3\nphases:\n  build:\n    commands:\n      - "true"\n', /^Build local-build:\S+ FAILED in DOWNLOAD_SOURCE: .*version.*0\.2/],
    [
      'artifacts that match no file name the pattern and the base directory',
      'version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p dist\nartifacts:\n  base-directory: dist\n  files:\n    - "out/**"\n',
      /^Build local-build:\S+ FAILED in UPLOAD_ARTIFACTS: no files matched `out\/\*\*` in base-directory dist/,
    ],
  ];
  it.each(badInput)('%s; the action fails and nothing is deployed', async (_name, buildspec, error) => {
    const { app, executionId } = await setup(buildspec);
    const ex = await afterBuild(executionId);
    expect(ex.status).toBe('Failed');
    expect(ex.stages[0].actions[0].error).toMatch(error);
    expect((await api.call('GET', '/deployments', { query: { application: app } })).body.items).toEqual([]);
  });

  it('a source that holds no appspec.yml passes preflight when only its builds are deployed; a source that is not a zip fails the build', async () => {
    const { app, executionId } = await setup(BUILDS_TO_OUT);
    expect((await afterBuild(executionId)).preflight).toEqual({ ok: true, problems: [] });
    const key = `${app}/broken.zip`;
    await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'not a zip' }));
    const started = await api.call('POST', `/pipelines/pipe-${app}/executions`, { body: { revision: { bucket: BUCKET, key } } });
    const ex = await afterBuild(started.body.executionId);
    expect(ex.stages[0].actions[0].error).toMatch(/FAILED in DOWNLOAD_SOURCE: .*zip/i);
  });
});
