import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import type { ArtifactUpload } from '../../lib/domain/artifact-upload.js';
import { useApi } from '../support/api-harness.js';
import { zipBundle } from '../support/bundles.js';
import { ScriptedAgent } from '../support/scripted-agent.js';

const api = useApi();
const BUCKET = 'fleetline-test-artifacts';
const MALLORY = 'arn:aws:sts::111122223333:assumed-role/builder/mallory';
const MALLORY_ROLE = 'arn:aws:iam::111122223333:role/builder';
const OSCAR = 'arn:aws:sts::111122223333:assumed-role/operator/oscar';
const OSCAR_ROLE = 'arn:aws:iam::111122223333:role/operator';
let counter = 0;
let sequence = 0x9000;

async function group(app: string, name: string) {
  const tag = { key: 'slot', value: `${app}-${name}` };
  await api.call('PUT', `/applications/${app}/groups/${name}`, { body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] } } });
  await api.call('PUT', `/instances/${app}-${name}-1`, { body: { tags: [tag] } });
  return new ScriptedAgent(api.call, `${app}-${name}-1`);
}

async function uploaded(key: string): Promise<ArtifactUpload> {
  await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]) }));
  const sequencer = (sequence++).toString(16).toUpperCase().padStart(18, '0');
  return { bucket: BUCKET, key, versionId: null, eTag: null, size: 1, sequencer, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), uploader: 'AWS:ci' };
}

const allow = (id: string, principal: string, actions: string[], resources: string[], effect: 'Allow' | 'Deny' = 'Allow') =>
  api.deps.accessRules.put({ id, effect, principals: [principal], actions, resources });

const deployStage = (app: string, group: string) => ({ name: `to-${group}`, actions: [{ type: 'deploy', application: app, group }] });

describe('a pipeline carries its author\'s authority', () => {
  it('a principal denied deployments on web/local cannot save a pipeline that deploys there', async () => {
    const app = `web-${++counter}`;
    await api.call('PUT', `/applications/${app}`);
    await group(app, 'staging');
    await group(app, 'local');
    await allow(`m-pipes-${counter}`, MALLORY_ROLE, ['pipelines:*'], ['pipeline/*']);
    await allow(`m-staging-${counter}`, MALLORY_ROLE, ['deployments:create'], [`application/${app}/group/*`]);
    await allow(`m-deny-${counter}`, MALLORY_ROLE, ['deployments:*'], [`application/${app}/group/local`], 'Deny');

    const source = { bucket: BUCKET, prefix: `${app}/` };
    const sneaky = await api.call('PUT', `/pipelines/sneaky-${counter}`, {
      body: { source, stages: [deployStage(app, 'staging'), deployStage(app, 'local')] },
      principal: MALLORY,
    });
    expect(sneaky.status).toBe(403);
    expect(sneaky.body.error.details).toEqual([
      { path: '$.stages[1].actions[0]', message: expect.stringContaining(`deployments:create on application/${app}/group/local is not allowed`) },
    ]);
    expect((await api.call('GET', `/pipelines/sneaky-${counter}`)).status).toBe(404);
    // Nothing can start: there is no pipeline, so an upload deploys nowhere.
    expect((await startPipelinesFor(await uploaded(`${app}/x.zip`), api.deps)).started).toEqual([]);

    const honest = await api.call('PUT', `/pipelines/honest-${counter}`, { body: { source, stages: [deployStage(app, 'staging')] }, principal: MALLORY });
    expect(honest.status).toBe(201);
    expect(honest.body.author).toBe(MALLORY);
  });

  it('deploy actions create deployments as the author, whoever starts the execution; a revoked author deploys nothing', async () => {
    const app = `auth-${++counter}`;
    await api.call('PUT', `/applications/${app}`);
    const agent = await group(app, 'prod');
    await allow(`m2-pipes-${counter}`, MALLORY_ROLE, ['pipelines:put'], [`pipeline/auth-${counter}`]);
    await allow(`m2-deploy-${counter}`, MALLORY_ROLE, ['deployments:create'], [`application/${app}/group/prod`]);
    await allow(`o-start-${counter}`, OSCAR_ROLE, ['pipelines:start', 'pipelines:get'], [`pipeline/auth-${counter}`]);
    const saved = await api.call('PUT', `/pipelines/auth-${counter}`, {
      body: { source: { bucket: BUCKET, prefix: `${app}/` }, stages: [deployStage(app, 'prod')] },
      principal: MALLORY,
    });
    expect(saved.status).toBe(201);

    // Oscar may start the pipeline but not deploy himself: the deployment runs as Mallory.
    await uploaded(`${app}/1.zip`);
    const manual = await api.call('POST', `/pipelines/auth-${counter}/executions`, { body: { revision: { bucket: BUCKET, key: `${app}/1.zip` } }, principal: OSCAR });
    expect(manual.status).toBe(201);
    const ex = (await api.call('GET', `/executions/${manual.body.executionId}`)).body;
    expect(ex).toMatchObject({ authority: MALLORY, trigger: { type: 'Manual', by: OSCAR } });
    const deployment = (await api.call('GET', `/deployments/${ex.stages[0].actions[0].deploymentId}`)).body;
    expect(deployment.creator).toBe(MALLORY);
    await agent.runOnce();

    // Mallory loses the grant: the next execution's deploy action fails when it starts, saying why.
    await api.deps.accessRules.delete(`m2-deploy-${counter}`);
    const [revoked] = (await startPipelinesFor(await uploaded(`${app}/2.zip`), api.deps)).started;
    const failed = (await api.call('GET', `/executions/${revoked}`)).body;
    expect(failed.status).toBe('Failed');
    expect(failed.stages[0].actions[0].error).toMatch(new RegExp(`deploys as its author ${MALLORY.replace(/[/.]/g, '\\$&')}, who may no longer deployments:create on application/${app}/group/prod`));
    const listed = (await api.call('GET', '/deployments', { query: { application: app } })).body.items;
    expect(listed).toHaveLength(1);
  });

  it('a pipeline saved before authors were recorded deploys nothing until it is saved again', async () => {
    const app = `legacy-${++counter}`;
    await api.call('PUT', `/applications/${app}`);
    await group(app, 'prod');
    await api.deps.pipelines.put(
      { name: `legacy-${counter}`, source: { bucket: BUCKET, prefix: `${app}/`, suffix: '' }, executionMode: 'SUPERSEDED', stages: [{ name: 'P', actions: [{ type: 'deploy', name: 'd', application: app, group: 'prod' }] }] },
      new Date().toISOString(),
    );
    const [id] = (await startPipelinesFor(await uploaded(`${app}/1.zip`), api.deps)).started;
    const ex = (await api.call('GET', `/executions/${id}`)).body;
    expect(ex.status).toBe('Failed');
    expect(ex.stages[0].actions[0].error).toContain('has no recorded author to deploy as; save the pipeline again');
    expect((await api.call('GET', '/deployments', { query: { application: app } })).body.items).toEqual([]);
  });
});
