import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/api/handler.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const BOB_ROLE = 'arn:aws:iam::111122223333:role/deployer';
const ROLE = 'arn:aws:iam::111122223333:role/fleetline/deploy-tools';
let deploymentId = '';
let executionId = '';

beforeAll(async () => {
  for (const key of ['web/a.zip', 'web/b.zip', 'hooked/h.zip']) await putBundle(api.s3, 'fleetline-test-artifacts', key);
  await api.call('PUT', '/applications/web');
  await api.call('PUT', '/applications/web/groups/prod', { body: { targets: { onPremisesTagSet: [[{ key: 'k', type: 'KEY_ONLY' }]] } } });
  await api.call('PUT', '/instances/i-1', { body: { tags: [{ key: 'k', value: 'v' }] } });
  await api.call('PUT', '/pipelines/p', { body: { source: { bucket: 'fleetline-test-artifacts', prefix: 'web/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
  deploymentId = (await api.call('POST', '/deployments', { body: { application: 'web', group: 'prod', revision: { bucket: 'fleetline-test-artifacts', key: 'web/a.zip' } } })).body.deploymentId;
  executionId = (await api.call('POST', '/pipelines/p/executions', { body: { revision: { bucket: 'fleetline-test-artifacts', key: 'web/missing.zip' } } })).body.executionId;
});

/** A concrete request for every route the access rules govern. */
function sampleRequest(method: string, path: string): { path: string; body?: unknown; query?: Record<string, string> } {
  const concrete = path
    .replace('{app}', 'web')
    .replace('{group}', 'prod')
    .replace('{instanceId}', 'i-1')
    .replace('{name}', 'p')
    .replace('{id}', path.startsWith('/deployments') ? deploymentId : path.startsWith('/executions') ? executionId : 'r1');
  const bodies: Record<string, unknown> = {
    'PUT /applications/{app}': { description: 'x' },
    'PUT /applications/{app}/groups/{group}': { targets: {} },
    'PUT /instances/{instanceId}': { tags: [] },
    'POST /deployments': { application: 'web', group: 'prod', revision: { bucket: 'fleetline-test-artifacts', key: 'web/b.zip' } },
    'POST /deployments/{id}/stop': {},
    'POST /deployments/{id}/retry': { failedOnly: true },
    'PUT /pipelines/{name}': { source: { bucket: 'fleetline-test-artifacts', prefix: 'web/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] },
    'POST /pipelines/{name}/executions': { revision: { bucket: 'fleetline-test-artifacts', key: 'web/c.zip' } },
    'POST /executions/{id}/approve': {},
    'POST /executions/{id}/reject': {},
    'PUT /access-rules/{id}': { effect: 'Allow', principals: ['*'], actions: ['x:y'], resources: ['*'] },
  };
  return { path: concrete, body: bodies[`${method} ${path}`] };
}

/** Routes that act on one item and read another of the same resource: a redeploy reads the deployment it repeats. */
const alsoNeeded: Record<string, string[]> = { 'POST /deployments/{id}/redeploy': ['deployments:get'], 'POST /deployments/{id}/retry': ['deployments:get'] };

describe('every route is one action on one resource', () => {
  const governed = apiRoutes.filter((r) => r.access === 'rules' && !r.action?.startsWith('access:'));

  it('declares who may call each route', () => {
    expect(apiRoutes.filter((r) => r.access === 'public').map((r) => r.path)).toEqual(['/health']);
    expect(apiRoutes.filter((r) => r.access === 'signed').map((r) => r.path)).toEqual(['/openapi.json']);
    expect(apiRoutes.filter((r) => r.access === 'agent').map((r) => r.path)).toEqual(['/agent/v1/poll', '/agent/v1/report', '/agent/v1/log', '/agent/v1/register']);
    expect(apiRoutes.filter((r) => r.access === 'self').map((r) => r.path)).toEqual(['/config', '/credentials']);
    expect(apiRoutes.filter((r) => r.action?.startsWith('access:')).map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /access-rules/{id}', 'GET /access-rules', 'GET /access-rules/{id}', 'DELETE /access-rules/{id}',
    ]);
    expect(governed.length).toBe(apiRoutes.length - 12);
  });

  it.each(governed.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: denied without a grant, allowed with exactly one', async (_key, route) => {
    const request = sampleRequest(route.method, route.path);
    const denied = await api.call(route.method, request.path, { body: request.body, principal: BOB });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('ForbiddenError');

    const action = route.action!;
    const { resource } = route.list ? { resource: '*' } : (await route.target!({
      params: Object.fromEntries((route.path.match(/\{(\w+)\}/g) ?? []).map((p) => [p.slice(1, -1), request.path.split('/')[route.path.split('/').indexOf(p)]])),
      query: {},
      body: request.body,
      deps: api.deps,
    }))!;
    const ruleId = `grant-${route.method}-${route.path.replace(/[^\w]/g, '_')}`.slice(0, 100);
    await api.deps.accessRules.put({ id: ruleId, effect: 'Allow', principals: [BOB_ROLE], actions: [action, ...(alsoNeeded[`${route.method} ${route.path}`] ?? [])], resources: [resource] });
    try {
      const allowed = await api.call(route.method, request.path, { body: request.body, principal: BOB });
      expect(allowed.status, JSON.stringify(allowed.body)).not.toBe(403);
    } finally {
      await api.deps.accessRules.delete(ruleId);
    }
  });

  it('lets an administrator manage rules, and a Deny beat an Allow', async () => {
    const put = await api.call('PUT', '/access-rules/bob-deploys', {
      body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['deployments:*'], resources: ['application/web/group/*'] },
    });
    expect(put.status).toBe(201);
    expect((await api.call('GET', `/deployments/${deploymentId}`, { principal: BOB })).status).toBe(200);
    await api.call('PUT', '/access-rules/bob-no-prod', {
      body: { effect: 'Deny', principals: [BOB], actions: ['deployments:get'], resources: ['application/web/group/prod'] },
    });
    // Denied looks exactly like missing, and names no rule.
    const denied = await api.call('GET', `/deployments/${deploymentId}`, { principal: BOB });
    expect([denied.status, denied.body.error.message]).toEqual([404, `Deployment ${deploymentId} does not exist`]);
    expect(JSON.stringify(denied.body)).not.toContain('bob-no-prod');
    expect((await api.call('PUT', '/access-rules/x', { principal: BOB, body: { effect: 'Allow', principals: ['*'], actions: ['*'], resources: ['*'] } })).status).toBe(403);
    await api.call('DELETE', '/access-rules/bob-no-prod');
    await api.call('DELETE', '/access-rules/bob-deploys');
  });

  it('keeps agent routes to the instance itself, whatever the rules say', async () => {
    await api.deps.accessRules.put({ id: 'everything', effect: 'Allow', principals: ['*'], actions: ['*'], resources: ['*'] });
    try {
      expect((await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'i-1' }, principal: BOB })).status).toBe(403);
      expect((await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'i-1' }, principal: agentPrincipal('i-2') })).status).toBe(403);
      expect((await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'i-1' }, principal: agentPrincipal('i-1') })).status).toBe(200);
    } finally {
      await api.deps.accessRules.delete('everything');
    }
  });
});

describe('POST /credentials', () => {
  const expiration = new Date('2026-11-22T12:00:00Z');
  const grant = (extra: Record<string, unknown> = {}) =>
    api.deps.accessRules.put({ id: 'bob-tools', effect: 'Allow', principals: [BOB_ROLE], actions: ['credentials:issue'], resources: [ROLE], ...extra });

  it('issues credentials for a granted role, with the caller in the session, and refuses a duration beyond the rule', async () => {
    await grant({ maxSessionSeconds: 1800, externalId: 'ext-123' });
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAISSUED', SecretAccessKey: 'very-secret', SessionToken: 'token', Expiration: expiration },
      AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/deploy-tools/fl-111122223333-deployer@bob,ci', AssumedRoleId: 'AROA:x' },
    });
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    const tooLong = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: ROLE, durationSeconds: 7200, policy } });
    expect([tooLong.status, tooLong.body.error.details]).toEqual([400, [{ path: '$.durationSeconds', message: 'must be at most 1800, the longest session the granting rule allows' }]]);
    const res = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: ROLE, durationSeconds: 1800, policy, sessionName: 'ci' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accessKeyId: 'ASIAISSUED',
      secretAccessKey: 'very-secret',
      sessionToken: 'token',
      expiration: expiration.toISOString(),
      assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/deploy-tools/fl-111122223333-deployer@bob,ci',
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'fl-111122223333-deployer@bob,ci',
      SourceIdentity: 'deployer@bob',
      DurationSeconds: 1800,
      Policy: policy,
      ExternalId: 'ext-123',
      Tags: [{ Key: 'fleetline-caller', Value: BOB }],
    });
    const audit = await api.call('GET', '/credentials/audit');
    expect(audit.body.items[0]).toMatchObject({ caller: BOB, roleArn: ROLE, durationSeconds: 1800, expiration: expiration.toISOString() });
    expect(JSON.stringify(audit.body)).not.toContain('very-secret');
    await api.deps.accessRules.delete('bob-tools');
  });

  it('refuses roles no rule grants, and roles outside the Fleetline path, without calling STS', async () => {
    expect((await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: ROLE } })).status).toBe(403);
    await api.deps.accessRules.put({ id: 'too-wide', effect: 'Allow', principals: [BOB_ROLE], actions: ['credentials:issue'], resources: ['*'] });
    const outside = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: 'arn:aws:iam::111122223333:role/admin' } });
    expect(outside.status).toBe(403);
    expect(outside.body.error.message).toContain('outside /fleetline/');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    await api.deps.accessRules.delete('too-wide');
  });

  it('refuses hostile role ARNs (path traversal, another account or partition) before STS is called', async () => {
    await api.deps.accessRules.put({ id: 'wide', effect: 'Allow', principals: [BOB_ROLE], actions: ['credentials:issue'], resources: ['*'] });
    try {
      for (const [roleArn, status] of [
        ['arn:aws:iam::111122223333:role/fleetline/../admin', 400],
        ['arn:aws:iam::111122223333:role/fleetline/./admin', 400],
        ['arn:aws:iam::444455556666:role/fleetline/tools', 403],
        ['arn:aws-us-gov:iam::111122223333:role/fleetline/tools', 403],
      ] as const) {
        const res = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn } });
        expect([roleArn, res.status]).toEqual([roleArn, status]);
      }
      const long = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: ROLE, sessionName: 'x'.repeat(33) } });
      expect([long.status, long.body.error.details[0].path]).toEqual([400, '$.sessionName']);
      expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    } finally {
      await api.deps.accessRules.delete('wide');
    }
  });

  it('maps every STS failure to a 4xx saying what to change, a 503 naming the credentials to set, or a 502 naming STS', async () => {
    await grant();
    const fail = (name: string, message = `${name} from STS`) => Object.assign(new Error(message), { name });
    const cases: [Error, number, RegExp, string?][] = [
      [fail('AccessDenied'), 403, /trust policy/],
      [fail('MalformedPolicyDocumentException'), 400, /session policy/, '$.policy'],
      [fail('ThrottlingException'), 429, /retry/],
      [fail('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'), 400, /raise the role's MaxSessionDuration/, '$.durationSeconds'],
      [fail('ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'), 400, /at most 3600.*role chaining/, '$.durationSeconds'],
      [fail('RegionDisabledException'), 422, /activate the region/],
      [fail('InvalidClientTokenId', 'The security token included in the request is invalid.'), 503, /STS refused Fleetline's AWS credentials \(InvalidClientTokenId\)/],
      [fail('ExpiredTokenException'), 503, /STS refused Fleetline's AWS credentials/],
      [fail('InternalFailure', 'secret internals'), 502, /STS failed to assume .* retry later/],
    ];
    try {
      for (const [error, status, message, path] of cases) {
        sts.reset();
        sts.on(AssumeRoleCommand).rejects(error);
        const res = await api.call('POST', '/credentials', { principal: BOB, body: { roleArn: ROLE, durationSeconds: 7200, policy: '{}' } });
        expect([error.name, res.status, res.body.error.message]).toEqual([error.name, status, expect.stringMatching(message)]);
        expect(res.body.error.message).not.toContain('secret internals');
        if (path) expect(res.body.error.details[0].path).toBe(path);
      }
    } finally {
      await api.deps.accessRules.delete('bob-tools');
    }
  });

  it('names each bad field to a caller holding some credentials grant (403 to anyone else)', async () => {
    const body = { roleArn: 'role/x', durationSeconds: 60, sessionName: 'has spaces', policy: 'not json' };
    expect((await api.call('POST', '/credentials', { principal: BOB, body })).status).toBe(403);
    await grant();
    try {
      const res = await api.call('POST', '/credentials', { principal: BOB, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['$.roleArn', '$.durationSeconds', '$.sessionName', '$.policy']);
    } finally {
      await api.deps.accessRules.delete('bob-tools');
    }
  });
});

describe('hook credentials (hookRoleArn)', () => {
  it('hands hooks temporary credentials of the group role, tagged with the deployment and instance; heartbeats get none', async () => {
    const hookRole = 'arn:aws:iam::111122223333:role/fleetline/web-hooks';
    await api.call('PUT', '/applications/hooked');
    const group = await api.call('PUT', '/applications/hooked/groups/g', {
      body: { targets: { onPremisesTagSet: [[{ key: 'hooked', type: 'KEY_ONLY' }]] }, hookRoleArn: hookRole },
    });
    expect(group.status).toBe(201);
    await api.call('PUT', '/instances/hooked-1', { body: { tags: [{ key: 'hooked', value: '' }] } });
    const { deploymentId: id } = (await api.call('POST', '/deployments', {
      body: { application: 'hooked', group: 'g', revision: { bucket: 'fleetline-test-artifacts', key: 'hooked/h.zip' } },
    })).body;
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAHOOK', SecretAccessKey: 'hook-secret', SessionToken: 'hook-token', Expiration: new Date('2026-11-22T13:00:00Z') },
    });
    const polled = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'hooked-1' }, principal: agentPrincipal('hooked-1') });
    expect(polled.body.assignment.hookCredentials).toEqual({
      accessKeyId: 'ASIAHOOK', secretAccessKey: 'hook-secret', sessionToken: 'hook-token', expiration: '2026-11-22T13:00:00.000Z',
    });
    const input = sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      RoleArn: hookRole,
      RoleSessionName: `fl-${id}-hooked-1`,
      Tags: [{ Key: 'fleetline-deployment', Value: id }, { Key: 'fleetline-instance', Value: 'hooked-1' }],
    });
    expect(JSON.parse(input?.Policy ?? '{}').Statement[1]).toEqual({ Effect: 'Deny', Action: ['iam:*', 'sts:*', 'organizations:*'], Resource: '*' });
    const beat = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'hooked-1', heartbeat: true }, principal: agentPrincipal('hooked-1') });
    expect(beat.body).toEqual({ action: 'continue', heartbeatSeconds: expect.any(Number), assignment: { deploymentId: id } });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('refuses a hook or target role outside the assumable path with 422', async () => {
    await api.call('PUT', '/applications/outside');
    const res = await api.call('PUT', '/applications/outside/groups/g', {
      body: { targets: { targetRoleArn: 'arn:aws:iam::444455556666:role/admin' }, hookRoleArn: 'arn:aws:iam::111122223333:role/root-ish' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['$.hookRoleArn', '$.targets.targetRoleArn']);
  });
});
