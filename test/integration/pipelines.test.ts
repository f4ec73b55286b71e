import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import { type ArtifactUpload, parseS3Record } from '../../lib/domain/artifact-upload.js';
import { reconcileExecutions } from '../../lib/pipelines/reconcile-executions.js';
import { loadEvent } from '../support/api-events.js';
import { useApi } from '../support/api-harness.js';
import { putBundle, zipBundle } from '../support/bundles.js';
import { ScriptedAgent } from '../support/scripted-agent.js';

const api = useApi();
let counter = 0;
const BUCKET = 'fleetline-dev-artifacts';
const VALID_APPSPEC = 'version: 0.0\nos: linux\n';

/** An application with a staging and a prod group of one instance each, and a pipeline over them. */
async function setup(options: { executionMode?: 'SUPERSEDED' | 'QUEUED'; approval?: boolean; prefix?: string } = {}) {
  const n = ++counter;
  const app = `shop-${n}`;
  const prefix = options.prefix ?? `p${n}/`;
  await api.call('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: BUCKET, prefix }] } });
  const agents: Record<string, ScriptedAgent> = {};
  for (const group of ['staging', 'prod']) {
    const tag = { key: 'stage', value: `${app}-${group}` };
    await api.call('PUT', `/applications/${app}/groups/${group}`, { body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] } } });
    await api.call('PUT', `/instances/${app}-${group}-1`, { body: { tags: [tag] } });
    agents[group] = new ScriptedAgent(api.send, `${app}-${group}-1`, api.settle);
  }
  const stages = [
    { name: 'Staging', actions: [{ type: 'deploy', application: app, group: 'staging' }] },
    ...(options.approval === false ? [] : [{ name: 'Approve', actions: [{ type: 'approval', timeoutMinutes: 60 }] }]),
    { name: 'Prod', actions: [{ type: 'deploy', application: app, group: 'prod' }] },
  ];
  const pipeline = `pipe-${n}`;
  const put = await api.call('PUT', `/pipelines/${pipeline}`, {
    body: { source: { bucket: BUCKET, prefix, suffix: '.zip' }, executionMode: options.executionMode ?? 'SUPERSEDED', stages },
  });
  expect(put.status).toBe(201);
  let sequence = 0x1000;
  /** Puts a bundle (a valid one unless `appspec` says otherwise) and returns its notification. */
  const eTags = new Map<string, string>();
  const upload = async (key: string, extra: Partial<ArtifactUpload> = {}, appspec = VALID_APPSPEC): Promise<ArtifactUpload> => {
    const put = await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}${key}`, Body: await zipBundle([{ path: 'appspec.yml', content: appspec }]) }));
    eTags.set(key, put.ETag ?? '');
    return notification(key, extra);
  };
  const notification = (key: string, extra: Partial<ArtifactUpload> = {}): ArtifactUpload => ({
    bucket: BUCKET,
    key: `${prefix}${key}`,
    versionId: `v-${key}`,
    eTag: eTags.get(key) ?? 'abc',
    size: 10,
    sequencer: (sequence++).toString(16).toUpperCase().padStart(18, '0'),
    eventName: 'ObjectCreated:Put',
    eventTime: new Date().toISOString(),
    uploader: 'AWS:ci',
    ...extra,
  });
  return { app, pipeline, agents, upload, notification, prefix };
}

const execution = async (id: string) => (await api.call('GET', `/executions/${id}`)).body;
const stageStatuses = (ex: any) => ex.stages.map((s: any) => `${s.name}:${s.status}`);

describe('pipelines API', () => {
  it('rejects a pipeline that deploys to a group that does not exist with 422, naming the action', async () => {
    const res = await api.call('PUT', '/pipelines/ghost', {
      body: { source: { bucket: BUCKET, prefix: 'ghost/' }, stages: [{ name: 'A', actions: [{ type: 'deploy', application: 'nope', group: 'prod' }] }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: '$.stages[0].actions[0]', message: 'deployment group nope/prod does not exist' }]);
  });

  it('names every structural problem with 400', async () => {
    const res = await api.call('PUT', '/pipelines/bad', {
      body: {
        source: { bucket: 'Not_A_Bucket' },
        executionMode: 'PARALLEL',
        stages: [{ name: 'A', actions: [] }, { name: 'A', actions: [{ type: 'lambda' }] }],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.path)).toEqual(
      expect.arrayContaining(['$.source.bucket', '$.executionMode', '$.stages[0].actions', '$.stages[1].actions[0].type']),
    );
  });

  it('refuses to delete a pipeline while an execution runs', async () => {
    const { pipeline, upload } = await setup();
    const { started } = await startPipelinesFor(await upload('a.zip'), api.deps);
    expect(started).toHaveLength(1);
    expect((await api.call('DELETE', `/pipelines/${pipeline}`)).status).toBe(409);
    await api.call('POST', `/executions/${started[0]}/stop`);
    expect((await api.call('DELETE', `/pipelines/${pipeline}`)).status).toBe(204);
  });
});

describe('from upload to prod', () => {
  it('deploys to staging, waits for approval, then deploys to prod', async () => {
    const { agents, upload, pipeline } = await setup();
    const [id] = (await startPipelinesFor(await upload('app-1.zip'), api.deps)).started;
    expect(stageStatuses(await execution(id!))).toEqual(['Staging:InProgress', 'Approve:Pending', 'Prod:Pending']);
    await agents.staging!.runOnce();
    let ex = await execution(id!);
    expect(stageStatuses(ex)).toEqual(['Staging:Succeeded', 'Approve:InProgress', 'Prod:Pending']);
    expect(await agents.prod!.runOnce()).toBeUndefined(); // nothing reaches prod before the approval

    const approved = await api.call('POST', `/executions/${id}/approve`, { body: { comment: 'looks good' } });
    expect(approved.status).toBe(200);
    await agents.prod!.runOnce();
    ex = await execution(id!);
    expect(ex.status).toBe('Succeeded');
    expect(ex.stages[1].actions[0].decision).toMatchObject({ approved: true, comment: 'looks good', by: expect.stringContaining('arn:aws') });
    const prodDeployment = ex.stages[2].actions[0].deploymentId;
    expect((await api.call('GET', `/deployments/${prodDeployment}`)).body).toMatchObject({ status: 'Succeeded', revision: { key: expect.stringContaining('app-1.zip') } });
    const history = await api.call('GET', `/pipelines/${pipeline}/executions`);
    expect(history.body.items.map((e: any) => e.executionId)).toEqual([id]);
    expect((await api.call('POST', `/executions/${id}/approve`)).status).toBe(409);
  });

  it('a rejection fails the execution; an approval left too long times out', async () => {
    const { agents, upload } = await setup();
    const [rejected] = (await startPipelinesFor(await upload('r.zip'), api.deps)).started;
    await agents.staging!.runOnce();
    await api.call('POST', `/executions/${rejected}/reject`, { body: { comment: 'not today' } });
    expect(await execution(rejected!)).toMatchObject({ status: 'Failed', error: expect.stringContaining('not today') });

    const [late] = (await startPipelinesFor(await upload('t.zip'), api.deps)).started;
    await agents.staging!.runOnce();
    api.clock.advance(61 * 60);
    await reconcileExecutions(api.deps);
    expect(await execution(late!)).toMatchObject({ status: 'Failed', error: 'Approval timed out after 60 minute(s)' });
  });

  /** A pipeline execution waiting for its approval, and helpers to decide it at a time relative to the deadline. */
  async function awaitingApproval() {
    const { agents, upload } = await setup();
    const [id] = (await startPipelinesFor(await upload('a.zip'), api.deps)).started;
    await agents.staging!.runOnce();
    const deadline = (await execution(id!)).stages[1].actions[0].deadline as string;
    expect(deadline).toBeDefined();
    const moveTo = (offsetMs: number) => api.clock.advance((Date.parse(deadline) + offsetMs - api.clock.now().getTime()) / 1000);
    return { agents, id: id!, deadline, moveTo };
  }
  const timedOut = { status: 'Failed', error: 'Approval timed out after 60 minute(s)' };

  it('an approval at its deadline is refused (409 naming the deadline) and fails the approval as of the deadline, with no reconciler pass', async () => {
    const { agents, id, deadline, moveTo } = await awaitingApproval();
    moveTo(0);
    const late = await api.call('POST', `/executions/${id}/approve`, { body: { comment: 'sorry, was at lunch' } });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain(`timed out at ${deadline}`);
    const ex = await execution(id);
    expect(ex).toMatchObject(timedOut);
    expect(ex.stages[1].actions[0]).toMatchObject({ status: 'Failed', endedAt: deadline });
    expect(ex.stages[1].actions[0].decision).toBeUndefined();
    expect(await agents.prod!.runOnce()).toBeUndefined();
    // Asked again, or rejected instead, the answer is the same.
    expect((await api.call('POST', `/executions/${id}/approve`)).body.error.message).toContain(`timed out at ${deadline}`);
    const reject = await api.call('POST', `/executions/${id}/reject`, { body: { comment: 'no' } });
    expect(reject.status).toBe(409);
    expect(reject.body.error.message).toContain(`timed out at ${deadline}`);
  });

  it('a rejection after the deadline, the reconciler having failed the approval first, is refused the same way', async () => {
    const { id, deadline, moveTo } = await awaitingApproval();
    moveTo(60_000);
    await reconcileExecutions(api.deps);
    expect(await execution(id)).toMatchObject(timedOut);
    expect((await execution(id)).stages[1].actions[0].endedAt).toBe(deadline);
    const reject = await api.call('POST', `/executions/${id}/reject`, { body: { comment: 'no' } });
    expect(reject.status).toBe(409);
    expect(reject.body.error.message).toContain(`timed out at ${deadline}`);
  });

  it('an approval a few seconds before its deadline goes through', async () => {
    const { agents, id, moveTo } = await awaitingApproval();
    moveTo(-5_000); // the request itself takes real time
    expect((await api.call('POST', `/executions/${id}/approve`)).status).toBe(200);
    await agents.prod!.runOnce();
    expect((await execution(id)).status).toBe('Succeeded');
  });

  it('a failed stage can be retried without starting over', async () => {
    const { agents, upload } = await setup({ approval: false });
    const [id] = (await startPipelinesFor(await upload('f.zip'), api.deps)).started;
    await agents.staging!.runOnce();
    await agents.prod!.runOnce({ failAt: { event: 'ApplicationStart' } });
    const failed = await execution(id!);
    expect(failed.status).toBe('Failed');
    // The execution names the deployment and, through it, the instance, event and exit code.
    expect(failed.error).toMatch(/^Deployment d-[A-Z0-9]{9} Failed: \S+ failed at ApplicationStart: hook exited 1 \(ScriptFailed, exit code 1\)/);
    const retried = await api.call('POST', `/executions/${id}/retry`);
    expect(retried.status).toBe(200);
    // The retry is recorded (the failed stage is Pending again, its action on a new attempt); the worker runs it.
    expect(stageStatuses(retried.body)).toEqual(['Staging:Succeeded', 'Prod:Pending']);
    expect(retried.body).toMatchObject({ status: 'InProgress', stages: [{}, { actions: [{ status: 'Pending', attempt: 1 }] }] });
    expect(stageStatuses(await execution(id!))).toEqual(['Staging:Succeeded', 'Prod:InProgress']);
    await agents.prod!.runOnce();
    const ex = await execution(id!);
    expect(ex.status).toBe('Succeeded');
    expect(ex.stages[0].actions[0].attempt).toBeUndefined(); // staging did not run again
  });
});

describe('exactly once, in order', () => {
  it('the same notification delivered 5 times among others starts one execution per object version', async () => {
    const { upload } = await setup();
    const a = await upload('a.zip');
    const b = await upload('b.zip');
    const deliveries = [a, b, a, a, b, a, a].sort(() => Math.random() - 0.5);
    const results = await Promise.all(deliveries.map((u) => startPipelinesFor(u, api.deps)));
    const started = results.flatMap((r) => r.started);
    expect(new Set(started).size).toBe(2);
    expect(started).toHaveLength(2);
  });

  it('an older sequencer arriving after a newer one for the same key is ignored', async () => {
    const { upload } = await setup();
    const older = await upload('same.zip', { versionId: 'v1' });
    const newer = await upload('same.zip', { versionId: 'v2' });
    expect((await startPipelinesFor(newer, api.deps)).started).toHaveLength(1);
    expect(await startPipelinesFor(older, api.deps)).toMatchObject({ stale: true, started: [] });
  });

  it('matches prefix and suffix on the decoded key', async () => {
    const { upload } = await setup({ prefix: 'web/release candidate/' });
    const [record] = loadEvent<{ Records: unknown[] }>('s3-object-created-encoded-key.json').Records;
    const parsed = parseS3Record(record);
    if (!parsed.ok) throw new Error(parsed.reason);
    await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: parsed.upload.key, Body: await zipBundle([{ path: 'appspec.yml', content: VALID_APPSPEC }]) }));
    expect((await startPipelinesFor(parsed.upload, api.deps)).started).toHaveLength(1);
    expect((await startPipelinesFor(await upload('x.tgz'), api.deps)).started).toHaveLength(0); // wrong suffix
  });

  it('SUPERSEDED: of three quick uploads while staging is busy, the middle one is superseded', async () => {
    const { agents, upload } = await setup({ approval: false, executionMode: 'SUPERSEDED' });
    const ids = [];
    for (const key of ['1.zip', '2.zip', '3.zip']) ids.push(...(await startPipelinesFor(await upload(key), api.deps)).started);
    expect((await execution(ids[1]!)).status).toBe('Superseded');
    for (let i = 0; i < 4; i++) await Promise.all([agents.staging!.runOnce(), agents.prod!.runOnce()]);
    expect((await execution(ids[0]!)).status).toBe('Succeeded');
    expect((await execution(ids[2]!)).status).toBe('Succeeded');
    expect((await execution(ids[1]!)).error).toBe(`Superseded by ${ids[2]}`);
  });

  it('QUEUED: all three run, in order', async () => {
    const { agents, upload } = await setup({ approval: false, executionMode: 'QUEUED' });
    const ids: string[] = [];
    for (const key of ['1.zip', '2.zip', '3.zip']) ids.push(...(await startPipelinesFor(await upload(key), api.deps)).started);
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const ran = await agents.staging!.runOnce();
      if (ran) order.push(ran);
      await agents.prod!.runOnce();
    }
    const executions = await Promise.all(ids.map(execution));
    expect(executions.map((e) => e.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(order).toEqual(executions.map((e) => e.stages[0].actions[0].deploymentId));
  });

  it('a deploy action waits for a busy group instead of failing', async () => {
    const { app, agents, upload, prefix } = await setup({ approval: false });
    await putBundle(api.s3, BUCKET, `${prefix}manual.zip`);
    const manual = await api.call('POST', '/deployments', {
      body: { application: app, group: 'staging', revision: { bucket: BUCKET, key: `${prefix}manual.zip` } },
    });
    const [id] = (await startPipelinesFor(await upload('w.zip'), api.deps)).started;
    expect((await execution(id!)).stages[0].actions[0]).toMatchObject({ status: 'Pending', waitingForGroup: true });
    await agents.staging!.runOnce(); // finishes the manual deployment; the pipeline's starts at once
    expect((await api.call('GET', `/deployments/${manual.body.deploymentId}`)).body.status).toBe('Succeeded');
    expect((await execution(id!)).stages[0].actions[0].status).toBe('InProgress');
    await agents.staging!.runOnce();
    await agents.prod!.runOnce();
    expect((await execution(id!)).status).toBe('Succeeded');
  });

  it('a deploy action checks the revision again: a bundle deleted while waiting for approval fails the action, deploying nothing', async () => {
    const { app, agents, upload } = await setup();
    const notified = await upload('gone.zip');
    const [id] = (await startPipelinesFor(notified, api.deps)).started;
    await agents.staging!.runOnce();
    await api.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: notified.key }));
    await api.call('POST', `/executions/${id}/approve`);
    const ex = await execution(id!);
    expect(ex.status).toBe('Failed');
    expect(ex.stages[2].actions[0]).toMatchObject({ status: 'Failed', error: expect.stringMatching(/gone\.zip.*does not exist/) });
    expect((await api.call('GET', '/deployments', { query: { application: app, group: 'prod' } })).body.items).toEqual([]);
  });

  it('an invalid appspec.yml fails the execution with its problems before any instance is touched', async () => {
    const { app, upload } = await setup();
    const bad = await upload('bad.zip', {}, 'version: 0.0\nos: windows\nhooks:\n  AfterInstall:\n    - timeout: 5\n');
    const [id] = (await startPipelinesFor(bad, api.deps)).started;
    const ex = await execution(id!);
    expect(ex.status).toBe('Failed');
    expect(ex.error).toMatch(/appspec.yml \$\.os: windows is not supported by this agent/);
    expect(ex.preflight.problems.map((p: any) => p.path)).toEqual(['appspec.yml $.os', 'appspec.yml $.hooks.AfterInstall[0].location']);
    expect((await api.call('GET', '/deployments', { query: { application: app } })).body.items).toEqual([]);
  });
});
