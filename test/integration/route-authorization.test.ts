import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/api/handler.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import type { Route } from '../../lib/http/router.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';

/**
 * Every route, tried by a hostile principal: without a grant it gets 403 and
 * the table does not change by one attribute, whatever the input (valid,
 * invalid body, unknown ID); with an Allow on everything but a Deny that
 * reaches it through a role path, it is denied too; and lists hide what a
 * Deny covers.
 */
const api = useApi();

const MALLORY = 'arn:aws:sts::111122223333:assumed-role/contractor/mallory';
const MALLORY_ROLE = 'arn:aws:iam::111122223333:role/contractor';
const MALLORY_ROLE_WITH_PATH = 'arn:aws:iam::111122223333:role/teams/external/contractor';
const BUCKET = 'fleetline-test-artifacts';
const ids = { deployment: '', execution: '', secretDeployment: '' };

async function snapshot(): Promise<string> {
  await api.settle(); // what the worker does for earlier requests is not this request's change
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await api.table.doc.send(new ScanCommand({ TableName: api.table.tableName, ConsistentRead: true, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

beforeAll(async () => {
  const admin = api.call;
  for (const key of ['web/a.zip', 'secret/s.zip', 'web/b.zip']) await putBundle(api.s3, BUCKET, key); // deployments check their revision
  await admin('PUT', '/applications/web');
  await admin('PUT', '/applications/secret');
  const targets = { targets: { onPremisesTagSet: [[{ key: 'k', type: 'KEY_ONLY' }]] } };
  await admin('PUT', '/applications/web/groups/prod', { body: targets });
  await admin('PUT', '/applications/secret/groups/vault', { body: targets });
  await admin('PUT', '/instances/i-1', { body: { tags: [{ key: 'k', value: 'v' }] } });
  await admin('PUT', '/pipelines/p', { body: { source: { bucket: BUCKET, prefix: 'p/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
  await admin('PUT', '/access-rules/r1', { body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/nobody'], actions: ['x:y'], resources: ['*'] } });
  const create = (application: string, group: string, key: string) =>
    admin('POST', '/deployments', { body: { application, group, revision: { bucket: BUCKET, key } } });
  ids.deployment = (await create('web', 'prod', 'web/a.zip')).body.deploymentId;
  ids.secretDeployment = (await create('secret', 'vault', 'secret/s.zip')).body.deploymentId;
  ids.execution = (await admin('POST', '/pipelines/p/executions', { body: { revision: { bucket: BUCKET, key: 'p/missing.zip' } } })).body.executionId;
  expect(ids).toEqual({ deployment: expect.stringMatching(/^d-/), execution: expect.stringMatching(/^e-/), secretDeployment: expect.stringMatching(/^d-/) });
});

interface Sample {
  path: string;
  body?: unknown;
  /** The same route with an ID nobody has created (item routes that look one up). */
  unknownPath?: string;
  /** A body that fails validation. */
  badBody?: unknown;
}

function sample(route: Route<ApiDeps>): Sample {
  const fill = (deployment: string, execution: string) =>
    route.path
      .replace('{app}', 'web')
      .replace('{group}', 'prod')
      .replace('{instanceId}', 'i-1')
      .replace('{name}', 'p')
      .replace('{id}', route.path.startsWith('/deployments') ? deployment : route.path.startsWith('/executions') ? execution : 'r1');
  const path = fill(ids.deployment, ids.execution);
  const unknownPath = /\/(deployments|executions)\/\{id\}/.test(route.path) ? fill('d-ZZZZZZZZZ', 'e-0000000000000000') : undefined;
  const bodies: Record<string, unknown> = {
    'PUT /applications/{app}': { description: 'x' },
    'PUT /applications/{app}/groups/{group}': { targets: {} },
    'PUT /instances/{instanceId}': { tags: [] },
    'POST /deployments': { application: 'web', group: 'prod', revision: { bucket: BUCKET, key: 'web/b.zip' } },
    'POST /deployments/{id}/stop': {},
    'PUT /pipelines/{name}': { source: { bucket: BUCKET, prefix: 'q/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] },
    'POST /pipelines/{name}/executions': { revision: { bucket: BUCKET, key: 'p/c.zip' } },
    'POST /executions/{id}/approve': {},
    'POST /executions/{id}/reject': {},
    'PUT /access-rules/{id}': { effect: 'Allow', principals: ['*'], actions: ['*'], resources: ['*'] },
    'POST /credentials': { roleArn: 'arn:aws:iam::111122223333:role/fleetline/tools' },
    'POST /agent/v1/poll': { instanceId: 'i-1' },
    'POST /agent/v1/register': { instanceId: 'i-1', tags: [{ key: 'env', value: 'prod' }] },
    'POST /agent/v1/report': { instanceId: 'i-1', deploymentId: ids.deployment, event: 'BeforeInstall', status: 'Succeeded' },
    'POST /agent/v1/log': { instanceId: 'i-1', deploymentId: ids.deployment, seq: 0, text: 'output\n' },
  };
  const key = `${route.method} ${route.path}`;
  const body = bodies[key];
  return { path, body, unknownPath, badBody: route.method === 'GET' || route.method === 'DELETE' ? undefined : { surprise: ['not', 'valid'] } };
}

const guarded = apiRoutes.filter((r) => r.access !== 'public' && r.access !== 'signed');
const table = guarded.map((r) => [`${r.method} ${r.path}`, r] as const);

describe('every route, called by a principal no rule mentions', () => {
  it('covers every route but /health and the API description', () => {
    expect(apiRoutes.filter((r) => r.access === 'public').map((r) => r.path)).toEqual(['/health']);
    expect(apiRoutes.filter((r) => r.access === 'signed').map((r) => r.path)).toEqual(['/openapi.json']);
    expect(guarded).toHaveLength(apiRoutes.length - 2);
  });

  it('GET /openapi.json: the document to any signed caller (it holds no data), 401 unsigned, and nothing changes', async () => {
    const before = await snapshot();
    const res = await api.call('GET', '/openapi.json', { principal: MALLORY });
    expect([res.status, res.body.openapi, Object.keys(res.body.paths)]).toEqual([200, '3.1.0', expect.arrayContaining(['/deployments/{id}'])]);
    const unsigned = await api.call('GET', '/openapi.json', { principal: null });
    expect([unsigned.status, unsigned.body.error.code]).toEqual([401, 'UnauthorizedError']);
    expect(await snapshot()).toBe(before);
  });

  it.each(table)('%s: 403 for a valid request, an invalid body and an unknown ID, and nothing changes', async (_key, route) => {
    const before = await snapshot();
    const s = sample(route);
    const tries = [
      { what: 'valid request', path: s.path, body: s.body },
      ...(s.unknownPath ? [{ what: 'unknown ID', path: s.unknownPath, body: s.body }] : []),
      ...(s.badBody ? [{ what: 'invalid body', path: s.path, body: s.badBody }] : []),
      // Agent routes name their instance in the body: an invalid body naming a real instance is still refused first.
      ...(route.access === 'agent' ? [{ what: 'invalid body naming i-1', path: s.path, body: { instanceId: 'i-1', surprise: true } }] : []),
    ];
    for (const attempt of tries) {
      const res = await api.call(route.method, attempt.path, { body: attempt.body, principal: MALLORY });
      expect([attempt.what, res.status, res.body?.error?.code]).toEqual([attempt.what, 403, 'ForbiddenError']);
      // A 403 never names an item's application or group.
      if (route.path.includes('{id}')) expect(res.body.error.message).not.toMatch(/web|prod/);
    }
    expect(await snapshot()).toBe(before);
  });
});

describe('a Deny that reaches the caller only through its role, spelled with a path', () => {
  beforeAll(async () => {
    await api.call('PUT', '/access-rules/mallory-all', { body: { effect: 'Allow', principals: [MALLORY_ROLE], actions: ['*'], resources: ['*'] } });
    await api.call('PUT', '/access-rules/contractors-never', {
      body: { effect: 'Deny', principals: [MALLORY_ROLE_WITH_PATH], actions: ['*'], resources: ['*'] },
    });
  });

  it.each(table)('%s: denied, and nothing changes', async (_key, route) => {
    const before = await snapshot();
    const s = sample(route);
    const res = await api.call(route.method, s.path, { body: s.body, principal: MALLORY });
    expect(res.status).toBe(403);
    expect(await snapshot()).toBe(before);
  });

  it('stops applying once removed (the Allow alone lets the same requests through)', async () => {
    await api.call('DELETE', '/access-rules/contractors-never');
    try {
      expect((await api.call('GET', `/deployments/${ids.deployment}`, { principal: MALLORY })).status).toBe(200);
      expect((await api.call('GET', '/pipelines', { principal: MALLORY })).status).toBe(200);
    } finally {
      await api.call('PUT', '/access-rules/contractors-never', {
        body: { effect: 'Deny', principals: [MALLORY_ROLE_WITH_PATH], actions: ['*'], resources: ['*'] },
      });
    }
  });
});

describe('lists filter every item through the same rules', () => {
  const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
  beforeAll(async () => {
    await api.call('PUT', '/access-rules/bob-all', { body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/deployer'], actions: ['*'], resources: ['*'] } });
    await api.call('PUT', '/access-rules/bob-no-secret', {
      body: {
        effect: 'Deny',
        principals: ['arn:aws:iam::111122223333:role/deployer'],
        actions: ['*'],
        resources: ['application/secret', 'application/secret/group/*', 'instance/i-1', 'pipeline/p'],
      },
    });
  });

  it('a principal denied application/secret/group/* does not see those deployments, nor the other denied items', async () => {
    const deployments = (await api.call('GET', '/deployments', { principal: BOB })).body.items.map((d: any) => d.deploymentId);
    expect(deployments).toContain(ids.deployment);
    expect(deployments).not.toContain(ids.secretDeployment);
    const filtered = await api.call('GET', '/deployments', { principal: BOB, query: { application: 'secret' } });
    // Nothing it may see there: answered as a missing application is, as the group listing does.
    expect([filtered.status, filtered.body.error?.message]).toEqual([404, 'Application "secret" does not exist']);
    expect((await api.call('GET', `/deployments/${ids.secretDeployment}`, { principal: BOB })).status).toBe(404); // as if it did not exist

    const apps = (await api.call('GET', '/applications', { principal: BOB })).body.items.map((a: any) => a.name);
    expect(apps).toContain('web');
    expect(apps).not.toContain('secret');
    expect((await api.call('GET', '/applications/secret/groups', { principal: BOB })).status).toBe(404); // as a missing application
    expect((await api.call('GET', '/instances', { principal: BOB })).body.items.map((i: any) => i.instanceId)).not.toContain('i-1');
    expect((await api.call('GET', '/pipelines', { principal: BOB })).body.items.map((p: any) => p.name)).not.toContain('p');
  });

  it('an administrator still sees everything', async () => {
    const deployments = (await api.call('GET', '/deployments')).body.items.map((d: any) => d.deploymentId);
    expect(deployments).toEqual(expect.arrayContaining([ids.deployment, ids.secretDeployment]));
  });
});

describe('rules cannot lock administrators out, nor grant their author more than it holds', () => {
  const DAVE = 'arn:aws:sts::111122223333:assumed-role/dave/dave';

  it('only administrators manage rules: a principal allowed access:put on its own rules cannot write one', async () => {
    await api.call('PUT', '/access-rules/dave-self', {
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/dave'], actions: ['access:put'], resources: ['access-rule/dave-*'] },
    });
    const before = await snapshot();
    const escalate = await api.call('PUT', '/access-rules/dave-everything', {
      principal: DAVE,
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/dave'], actions: ['*'], resources: ['*'] },
    });
    expect([escalate.status, escalate.body.error.message]).toEqual([403, expect.stringContaining('only administrators manage access rules')]);
    expect(await snapshot()).toBe(before);
  });

  it('refuses a pattern past the wildcard bound with a 400 naming it, and a hostile-but-bounded Deny on everyone leaves admins untouched', async () => {
    const tooMany = await api.call('PUT', '/access-rules/hostile', {
      body: { effect: 'Deny', principals: ['*'], actions: ['*'], resources: ['*a'.repeat(17)] },
    });
    expect([tooMany.status, tooMany.body.error.details]).toEqual([400, [{ path: '$.resources[0]', message: 'must hold at most 16 wildcards (* and ?), not 17' }]]);
    const bounded = await api.call('PUT', '/access-rules/hostile', {
      body: { effect: 'Deny', principals: ['*', 'arn:*a*a*a*a*a*a*a*a*a*a*a*b'], actions: ['*'], resources: ['*'] },
    });
    expect(bounded.status).toBe(201);
    expect((await api.call('GET', '/applications')).status).toBe(200);
    expect((await api.call('DELETE', '/access-rules/hostile')).status).toBe(204);
  });
});
