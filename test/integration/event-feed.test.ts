import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { startStreamPoller } from '../../local/stream-poller.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';
import { useApi } from '../support/api-harness.js';
import { zipBundle } from '../support/bundles.js';
import { useFleets } from '../support/fleet.js';

/**
 * The event feed end to end: the worker turns what the stream records into CodeDeploy's and
 * CodePipeline's events, once each, in the order things happened, and GET /events shows
 * them to those allowed events:list on their group or pipeline.
 */
const api = useApi();
const { fleet, runFleet, getDeployment } = useFleets(api);
const PIPELINE_BUCKET = 'fleetline-dev-artifacts';
const BOB = 'arn:aws:sts::111122223333:assumed-role/viewer/bob';
const BOB_ROLE = 'arn:aws:iam::111122223333:role/viewer';

type Event = { id: string; 'detail-type': string; source: string; time: string; detail: Record<string, any>; resources: string[] };

/** Every event the listing gives, page by page. */
async function feed(query: Record<string, string> = {}, principal?: string): Promise<Event[]> {
  const events: Event[] = [];
  let nextToken: string | undefined;
  do {
    const res = await api.call('GET', '/events', { query: { ...query, limit: '3', ...(nextToken ? { nextToken } : {}) }, ...(principal ? { principal } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    events.push(...res.body.items);
    nextToken = res.body.nextToken;
  } while (nextToken);
  return events;
}

const short = (e: Event) =>
  [e['detail-type'].replace(/^CodeDeploy |^CodePipeline | State-change Notification$| Execution State Change$/g, ''), e.detail.state, e.detail.instanceId ?? e.detail.stage ?? e.detail.pipeline ?? e.detail.deploymentGroup]
    .filter(Boolean)
    .join(' ');

async function putApprovalBundle(s3: S3Client, key: string) {
  await s3.send(new PutObjectCommand({ Bucket: PIPELINE_BUCKET, Key: key, Body: await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]) }));
}

let shop: Awaited<ReturnType<typeof fleet>>;
let deploymentId = '';

beforeAll(async () => {
  shop = await fleet(2, { deploymentConfig: 'OneAtATime' });
  deploymentId = (await shop.deploy('web/app-1.zip')).body.deploymentId;
  await runFleet(shop.agents);
  expect((await getDeployment(deploymentId)).status).toBe('Succeeded');
}, 60_000);

describe('a deployment’s events', () => {
  it('are the deployment’s and each instance’s state changes, in the order they happened, each once', async () => {
    const events = await feed({ application: shop.app });
    // One at a time: whichever host goes first ends before the other starts.
    const first = String(events[1]?.detail.instanceId);
    const second = shop.agents.map((a) => a.instanceId).find((id) => id !== first);
    expect(shop.agents.map((a) => a.instanceId)).toContain(first);
    expect(events.map(short)).toEqual([
      'Deployment START prod',
      `Instance START ${first}`,
      `Instance SUCCESS ${first}`,
      `Instance START ${second}`,
      `Instance SUCCESS ${second}`,
      'Deployment SUCCESS prod',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) {
      expect(e).toMatchObject({ version: '0', source: 'aws.codedeploy', account: '000000000000', detail: { application: shop.app, deploymentId, deploymentGroup: 'prod' } });
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(events[1]?.resources[0]).toMatch(new RegExp(`^arn:aws:codedeploy:[^:]+:000000000000:instance/${first}$`));
  });

  it('filter by type (a short name or the detail-type) and by time', async () => {
    const deployments = await feed({ application: shop.app, type: 'deployment' });
    expect(deployments.map((e) => e.detail.state)).toEqual(['START', 'SUCCESS']);
    const byDetailType = await feed({ application: shop.app, type: 'CodeDeploy Instance State-change Notification' });
    expect(byDetailType).toHaveLength(4);
    const last = deployments[1]!;
    const since = await feed({ application: shop.app, since: last.time });
    expect(since.map((e) => e.id)).toContain(last.id);
    expect(since.every((e) => e.time >= last.time)).toBe(true);
    expect((await feed({ application: shop.app, since: new Date(Date.parse(last.time) + 60_000).toISOString() }))).toEqual([]);
  });

  it('refuses a type or time it does not know, naming the choices', async () => {
    const res = await api.call('GET', '/events', { query: { type: 'build' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error.details)).toContain('deployment, instance, execution, stage, action');
    expect((await api.call('GET', '/events', { query: { since: 'yesterday' } })).status).toBe(400);
  });

  it('are written once however often the stream hands the same records back', async () => {
    const before = await feed();
    // A second worker reads the whole stream again from its oldest record, as after a crash.
    const replay = await startStreamPoller({ client: api.table.client, tableName: api.table.tableName, handler: createStreamHandler(api.deps), startingPosition: 'TRIM_HORIZON' });
    try {
      await replay.settle(60_000);
    } finally {
      await replay.stop();
    }
    expect(await feed()).toEqual(before);
  });
});

describe('a pipeline execution’s events', () => {
  it('are the execution’s, its stages’ and actions’ state changes in CodePipeline’s order', async () => {
    await api.call('PUT', '/pipelines/gate', {
      body: { source: { bucket: PIPELINE_BUCKET, prefix: 'gate/', suffix: '.zip' }, stages: [{ name: 'Approve', actions: [{ type: 'approval', name: 'sign-off', timeoutMinutes: 60 }] }] },
    });
    await putApprovalBundle(api.s3, 'gate/one.zip');
    const started = await api.call('POST', '/pipelines/gate/executions', { body: { revision: { bucket: PIPELINE_BUCKET, key: 'gate/one.zip' } } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.executionId;
    expect((await api.call('POST', `/executions/${id}/approve`, { body: { comment: 'ok' } })).status).toBe(200);
    const events = (await feed({ type: 'execution' })).concat(await feed({ type: 'stage' }), await feed({ type: 'action' }));
    expect(events.every((e) => e.detail['execution-id'] === id && e.source === 'aws.codepipeline')).toBe(true);
    const ordered = (await feed()).filter((e) => e.detail['execution-id'] === id);
    expect(ordered.map(short)).toEqual([
      'Pipeline STARTED gate',
      'Stage STARTED Approve',
      'Action STARTED Approve',
      'Action SUCCEEDED Approve',
      'Stage SUCCEEDED Approve',
      'Pipeline SUCCEEDED gate',
    ]);
    expect(ordered[2]?.detail).toMatchObject({ pipeline: 'gate', stage: 'Approve', action: 'sign-off', type: { category: 'Approval', provider: 'Manual' } });
  });
});

describe('who sees which events', () => {
  beforeAll(async () => {
    await api.call('PUT', '/access-rules/viewer-events', { body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['events:list'], resources: ['*'] } });
    await api.call('PUT', '/access-rules/viewer-not-shop', {
      body: { effect: 'Deny', principals: [BOB_ROLE], actions: ['*'], resources: [`application/${shop.app}/group/*`, 'pipeline/gate'] },
    });
  });

  it('a caller denied an application’s groups and a pipeline sees none of their events, and its tokens carry none of them', async () => {
    const other = await fleet(1);
    const otherDeployment = (await other.deploy('web/app-1.zip')).body.deploymentId;
    await runFleet(other.agents);
    const seen = await feed({}, BOB);
    expect(seen.some((e) => e.detail.deploymentId === otherDeployment)).toBe(true);
    expect(seen.filter((e) => e.detail.application === shop.app || e.detail.pipeline === 'gate')).toEqual([]);
    expect(await feed({ application: shop.app }, BOB)).toEqual([]);
    const all = await feed();
    expect(all.filter((e) => e.detail.application === shop.app).length).toBeGreaterThan(0);
  });

  it('a caller with no events:list grant at all is refused', async () => {
    const res = await api.call('GET', '/events', { principal: 'arn:aws:sts::111122223333:assumed-role/nobody/eve' });
    expect([res.status, res.body.error.code]).toEqual([403, 'ForbiddenError']);
  });
});
