import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../lib/api/operations.js';
import type { OpenApiDocument } from '../../lib/api/openapi.js';
import type { RequestOptions } from '../support/api-events.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { ScriptedAgent, agentPrincipal } from '../support/scripted-agent.js';

/**
 * Real answers against the OpenAPI document the API serves: representative
 * requests of every operation (each success status, and errors of every kind)
 * go through the API over DynamoDB Local, and every answer's body must match
 * the schema the document gives that operation and status, with no field the
 * document does not name (the schemas forbid additional properties).
 */
const api = useApi();
const sts = mockClient(STSClient);
afterAll(() => sts.restore());

const BUCKET = 'fleetline-test-artifacts';
const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
let doc: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();
/** `operationId status` of every answer checked. */
const seen = new Set<string>();

type Operation = { operationId: string; responses: Record<string, { $ref?: string; content?: { 'application/json': { schema: unknown } } }> };

function operationFor(method: string, path: string): Operation {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  for (const [template, methods] of Object.entries(doc.paths)) {
    const segments = template.split('/').filter(Boolean);
    if (segments.length !== parts.length || !segments.every((s, i) => s.startsWith('{') || s === parts[i])) continue;
    const op = methods[method.toLowerCase()];
    if (op) return op as unknown as Operation;
  }
  throw new Error(`The document has no operation for ${method} ${path}`);
}

/** The schema the document gives an answer, or null when it has no body. */
function responseSchema(op: Operation, status: number): unknown {
  let response = op.responses[String(status)];
  expect(response, `${op.operationId} answered ${status}, which the document does not list`).toBeDefined();
  if (response!.$ref) response = (doc.components as any).responses[response!.$ref.split('/').pop()!];
  return response!.content?.['application/json'].schema ?? null;
}

function conforms(method: string, path: string, res: { status: number; body: unknown }) {
  const op = operationFor(method, path);
  const schema = responseSchema(op, res.status);
  seen.add(`${op.operationId} ${res.status}`);
  if (schema === null) {
    expect(res.body, `${op.operationId} ${res.status} has no body in the document`).toBeUndefined();
    return;
  }
  const key = `${op.operationId} ${res.status}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi.json${(schema as { $ref: string }).$ref}` });
    validators.set(key, validate);
  }
  const ok = validate(res.body);
  expect(ok ? [] : validate.errors, `${method} ${path} → ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`).toEqual([]);
}

/** A request through the API whose answer must match the document. */
async function call(method: string, path: string, options: RequestOptions = {}) {
  const res = await api.call(method, path, options);
  conforms(method, path, res);
  return res;
}

/** The scripted agent's requests are checked too. */
const checkedSend = async (method: string, path: string, options?: RequestOptions) => {
  const res = await api.send(method, path, options);
  conforms(method, path, res);
  return res;
};

beforeAll(async () => {
  const served = await api.call('GET', '/openapi.json', { principal: BOB });
  expect(served.status).toBe(200);
  doc = served.body;
  ajv.addSchema(doc as object, 'openapi.json');
  for (const key of ['web/a.zip', 'web/b.zip', 'web/c.zip']) await putBundle(api.s3, BUCKET, key);
});

describe('every answer matches the OpenAPI document', () => {
  it('the service routes', async () => {
    await call('GET', '/health', { principal: null });
    await call('GET', '/openapi.json', { principal: BOB });
    await call('GET', '/openapi.json', { principal: null });
    await call('GET', '/config');
  });

  it('applications, groups and instances, created and updated', async () => {
    for (let i = 0; i < 2; i++) {
      await call('PUT', '/applications/web', { body: { description: `web ${i}` } });
      await call('PUT', '/applications/web/groups/prod', {
        body: { targets: { onPremisesTagSet: [[{ key: 'app', value: 'web', type: 'KEY_AND_VALUE' }]] }, deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 0 } } },
      });
      await call('PUT', '/instances/web-1', { body: { tags: [{ key: 'app', value: 'web' }] } });
    }
    await call('PUT', '/applications/old', { body: { revisionSources: [{ bucket: BUCKET, prefix: 'old/' }] } });
    await call('GET', '/applications');
    await call('GET', '/applications', { query: { limit: '1' } });
    await call('GET', '/applications/web');
    await call('GET', '/applications/web/groups');
    await call('GET', '/applications/web/groups/prod');
    await call('GET', '/instances');
    await call('GET', '/instances/web-1');
    await call('PUT', '/applications/gone');
    await call('PUT', '/applications/gone/groups/g', { body: { targets: {} } });
    await call('DELETE', '/applications/gone/groups/g');
    await call('DELETE', '/applications/gone');
    await call('PUT', '/instances/gone', {});
    await call('DELETE', '/instances/gone');
  });

  it('a deployment from creation to its end, with its agent', async () => {
    const revision = { bucket: BUCKET, key: 'web/a.zip' };
    const created = await call('POST', '/deployments', { body: { application: 'web', group: 'prod', revision, idempotencyToken: 'first' } });
    expect(created.status).toBe(201);
    await call('POST', '/deployments', { body: { application: 'web', group: 'prod', revision, idempotencyToken: 'first' } });
    const id = created.body.deploymentId;
    await call('GET', `/deployments/${id}`);
    await call('GET', `/deployments/${id}/instances`);
    await call('GET', `/deployments/${id}/instances/web-1`);
    // The agent registers (an existing instance: 200; a new one: 201), polls, heartbeats and reports.
    await call('POST', '/agent/v1/register', { body: { instanceId: 'web-1' }, principal: agentPrincipal('web-1') });
    await call('POST', '/agent/v1/register', { body: { instanceId: 'new-1', tags: [{ key: 'app', value: 'web' }] }, principal: agentPrincipal('new-1') });
    const agent = new ScriptedAgent(checkedSend, 'web-1', api.settle);
    await api.settle();
    const polled = await agent.poll();
    expect(polled.body.assignment?.deploymentId).toBe(id);
    conforms('POST', '/agent/v1/poll', polled);
    // Someone follows its output; the agent streams a chunk, and the follower reads it.
    await call('GET', `/deployments/${id}/instances/web-1/log`, { query: { follow: 'true' } });
    await call('POST', '/agent/v1/log', { body: { instanceId: 'web-1', deploymentId: id, seq: 0, text: 'starting\n' }, principal: agentPrincipal('web-1') });
    await call('GET', `/deployments/${id}/instances/web-1/log`, { query: { cursor: '-1' } });
    await call('POST', '/agent/v1/poll', { body: { instanceId: 'web-1', heartbeat: true, deploymentId: id }, principal: agentPrincipal('web-1') });
    await agent.runOnce({ failAt: { event: 'AfterInstall', exitCode: 3 } });
    await call('GET', `/deployments/${id}`);
    await call('GET', `/deployments/${id}/instances`);
    await call('GET', `/deployments/${id}/instances/web-1`);
    await call('GET', '/deployments', { query: { application: 'web', group: 'prod', status: 'Failed' } });
    await call('GET', '/deployments');
    // An idle agent's poll.
    await call('POST', '/agent/v1/poll', { body: { instanceId: 'web-1', agentVersion: '0.0.1' }, principal: agentPrincipal('web-1') });
    const again = await call('POST', `/deployments/${id}/redeploy`, { body: { idempotencyToken: 'again' } });
    expect(again.status).toBe(201);
    await call('POST', `/deployments/${id}/redeploy`, { body: { idempotencyToken: 'again' } });
    await call('POST', `/deployments/${again.body.deploymentId}/stop`, { body: { rollback: false } });
    await call('GET', `/deployments/${again.body.deploymentId}`);
    await call('GET', `/deployments/${again.body.deploymentId}/instances`);
    // The failed original, retried on the instance it failed on (once the stopped redeploy has freed the group).
    await api.settle();
    const retried = await call('POST', `/deployments/${id}/retry`, { body: { failedOnly: true, idempotencyToken: 'retry' } });
    expect(retried.status, JSON.stringify(retried.body)).toBe(201);
    await call('POST', `/deployments/${id}/retry`, { body: { failedOnly: true, idempotencyToken: 'retry' } });
    await call('GET', `/deployments/${retried.body.deploymentId}`);
    await call('POST', `/deployments/${retried.body.deploymentId}/stop`, {});
  });

  it('pipelines and executions', async () => {
    const pipeline = { source: { bucket: BUCKET, prefix: 'web/' }, stages: [{ name: 'Gate', actions: [{ type: 'approval' }] }, { name: 'Prod', actions: [{ type: 'deploy', application: 'web', group: 'prod' }] }] };
    await call('PUT', '/pipelines/p', { body: pipeline });
    await call('PUT', '/pipelines/p', { body: { ...pipeline, executionMode: 'QUEUED' } });
    await call('GET', '/pipelines');
    await call('GET', '/pipelines/p');
    const start = async (key: string) => (await call('POST', '/pipelines/p/executions', { body: { revision: { bucket: BUCKET, key } } })).body.executionId as string;
    const approved = await start('web/b.zip');
    await api.settle();
    await call('GET', `/executions/${approved}`);
    await call('POST', `/executions/${approved}/approve`, { body: { comment: 'ship it' } });
    await api.settle();
    await call('GET', `/executions/${approved}`);
    await call('POST', `/executions/${approved}/stop`);
    const rejected = await start('web/c.zip');
    await api.settle();
    await call('POST', `/executions/${rejected}/reject`, {});
    await api.settle();
    await call('GET', `/executions/${rejected}`);
    await call('POST', `/executions/${rejected}/retry`);
    await api.settle();
    await call('GET', '/pipelines/p/executions');
    await call('POST', `/executions/${rejected}/stop`);
    await api.settle();
    await call('PUT', '/pipelines/q', { body: { source: { bucket: BUCKET, prefix: 'web/q/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
    await call('DELETE', '/pipelines/q');
    await start('web/a.zip'); // waits at the gate
    await api.settle();
    expect((await call('DELETE', '/pipelines/p')).status).toBe(409);
    // The feed holds CodePipeline's events of these executions (and CodeDeploy's of the deployment), each checked against the document.
    const feed = (await call('GET', '/events')).body.items as { source: string }[];
    expect(new Set(feed.map((e) => e.source))).toEqual(new Set(['aws.codepipeline', 'aws.codedeploy']));
  });

  it('access rules and credentials', async () => {
    const rule = { effect: 'Allow', principals: [BOB], actions: ['credentials:issue'], resources: ['arn:aws:iam::111122223333:role/fleetline/*'], maxSessionSeconds: 3600, description: 'tools' };
    await call('PUT', '/access-rules/bob-tools', { body: rule });
    await call('PUT', '/access-rules/bob-tools', { body: { ...rule, externalId: 'ext-1' } });
    await call('GET', '/access-rules');
    await call('GET', '/access-rules/bob-tools');
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAX', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date('2026-11-22T13:00:00Z') },
      AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/deploy-tools/fl-bob', AssumedRoleId: 'AROA:x' },
    });
    await call('POST', '/credentials', { principal: BOB, body: { roleArn: 'arn:aws:iam::111122223333:role/fleetline/deploy-tools' } });
    await call('GET', '/credentials/audit');
    await call('DELETE', '/access-rules/bob-tools');
  });

  it('errors of every kind', async () => {
    await call('PUT', '/applications/web', { body: { description: 7 } }); // 400
    await call('PUT', '/applications/web', { rawBody: '{', headers: { 'content-type': 'application/json' } }); // 400 malformed
    await call('GET', '/applications/web', { principal: null }); // 401
    await call('GET', '/applications/web', { principal: BOB }); // 403
    await call('GET', '/applications/nope'); // 404
    await call('GET', '/deployments', { query: { application: 'nope' } }); // 404 on a list
    await call('PUT', '/applications/web', { rawBody: 'x'.repeat(300 * 1024), headers: { 'content-type': 'application/json' } }); // 413
    await call('PUT', '/applications/web', { rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }); // 415
    await call('PUT', '/applications/web/groups/prod', { body: { targets: {}, deploymentConfig: 'Sometimes' } }); // 422
    await call('POST', '/deployments', { body: { application: 'web', group: 'prod', revision: { bucket: BUCKET, key: 'web/missing.zip' } } }); // 422
  });

  it('covered every success status of every operation, and each error status', () => {
    const expected = Object.values(operations).flatMap((op) => Object.keys(op.responses).map((status) => `${op.operationId} ${status}`));
    expect(expected.filter((key) => !seen.has(key))).toEqual([]);
    const errors = new Set([...seen].map((key) => Number(key.split(' ')[1])).filter((status) => status >= 400));
    expect([...errors].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 409, 413, 415, 422]));
  });
});
