import { beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/api/handler.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import type { Route } from '../../lib/http/router.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';

/**
 * With an Allow on everything and a Deny on the secret items, a caller cannot
 * tell a denied item from a missing one on any route that names an item: the
 * same status and the same body, whichever the route. Routes that create what
 * they name refuse with the same 403 whether or not it exists. No answer names
 * a rule.
 */
const api = useApi();
const BUCKET = 'fleetline-test-artifacts';
const EVE = 'arn:aws:sts::111122223333:assumed-role/auditor/eve';
const EVE_ROLE = 'arn:aws:iam::111122223333:role/auditor';
const DENY_RULE = 'eve-hidden-things';
const ids = { deployment: '', execution: '' };

beforeAll(async () => {
  const admin = api.call;
  await putBundle(api.s3, BUCKET, 'secret/s.zip');
  await admin('PUT', '/applications/secret');
  await admin('PUT', '/applications/secret/groups/vault', { body: { targets: { onPremisesTagSet: [[{ key: 'none', type: 'KEY_ONLY' }]] } } });
  await admin('PUT', '/instances/secret-i', { body: { tags: [] } });
  await admin('PUT', '/pipelines/secret-p', { body: { source: { bucket: BUCKET, prefix: 'secret-p/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
  ids.deployment = (await admin('POST', '/deployments', { body: { application: 'secret', group: 'vault', revision: { bucket: BUCKET, key: 'secret/s.zip' } } })).body.deploymentId;
  ids.execution = (await admin('POST', '/pipelines/secret-p/executions', { body: { revision: { bucket: BUCKET, key: 'secret-p/missing.zip' } } })).body.executionId;
  expect(ids).toEqual({ deployment: expect.stringMatching(/^d-/), execution: expect.stringMatching(/^e-/) });
  await admin('PUT', '/access-rules/eve-all', { body: { effect: 'Allow', principals: [EVE_ROLE], actions: ['*'], resources: ['*'] } });
  await admin('PUT', `/access-rules/${DENY_RULE}`, {
    body: { effect: 'Deny', principals: [EVE_ROLE], actions: ['*'], resources: ['application/secret*', 'instance/secret*', 'pipeline/secret*'] },
  });
  await api.settle();
}, 60_000);

/** The names a request uses: an existing denied item's, a missing one's, a missing one the Deny covers too. */
type Names = { app: string; group: string; instance: string; pipeline: string; deployment: string; execution: string };
const denied = (): Names => ({ app: 'secret', group: 'vault', instance: 'secret-i', pipeline: 'secret-p', deployment: ids.deployment, execution: ids.execution });
const missing: Names = { app: 'ghost', group: 'vault', instance: 'ghost-i', pipeline: 'ghost-p', deployment: 'd-ZZZZZZZZZ', execution: 'e-0000000000000000' };
const deniedMissing: Names = { ...missing, app: 'secret-ghost', instance: 'secret-ghost-i', pipeline: 'secret-ghost-p' };

function request(route: Route<ApiDeps>, n: Names): { path: string; body: unknown } {
  const path = route.path
    .replace('{app}', n.app)
    .replace('{group}', n.group)
    .replace('{name}', n.pipeline)
    .replace('{id}', route.path.startsWith('/deployments') ? n.deployment : route.path.startsWith('/executions') ? n.execution : 'some-rule')
    .replace('{instanceId}', route.path.startsWith('/deployments') ? 'i-1' : n.instance);
  const bodies: Record<string, unknown> = {
    'PUT /applications/{app}': { description: 'x' },
    'PUT /applications/{app}/groups/{group}': { targets: {} },
    'PUT /instances/{instanceId}': { tags: [] },
    'PUT /pipelines/{name}': { source: { bucket: BUCKET, prefix: 'q/' }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] },
    'POST /pipelines/{name}/executions': { revision: { bucket: BUCKET, key: 'q/c.zip' } },
    'POST /deployments': { application: n.app, group: n.group, revision: { bucket: BUCKET, key: `${n.app}/a.zip` } },
    'POST /deployments/{id}/stop': {},
    'POST /deployments/{id}/retry': { failedOnly: true },
    'POST /executions/{id}/approve': {},
    'POST /executions/{id}/reject': {},
    'PUT /access-rules/{id}': { effect: 'Allow', principals: ['*'], actions: ['*'], resources: ['*'] },
  };
  return { path, body: bodies[`${route.method} ${route.path}`] };
}

/** An answer with the request's own names replaced, so two answers about different names compare. */
function normalized(res: { status: number; body: unknown }, n: Names) {
  let text = JSON.stringify(res.body ?? null);
  const pairs = Object.entries(n).sort(([, a], [, b]) => b.length - a.length);
  for (const [kind, value] of pairs) text = text.split(value).join(`<${kind}>`);
  return { status: res.status, body: text };
}

const creates = new Set(['PUT /applications/{app}', 'PUT /applications/{app}/groups/{group}', 'PUT /instances/{instanceId}', 'PUT /pipelines/{name}', 'PUT /access-rules/{id}', 'POST /deployments']);
const naming = apiRoutes.filter((r) => r.path.includes('{') || `${r.method} ${r.path}` === 'POST /deployments');
const table = naming.map((r) => [`${r.method} ${r.path}`, r] as const);

describe('denied looks exactly like missing', () => {
  it('covers every route that names an item', () => {
    expect(table.length).toBeGreaterThanOrEqual(20);
    for (const key of creates) expect(table.map(([k]) => k)).toContain(key);
  });

  it.each(table)('%s', async (key, route) => {
    const ask = async (n: Names) => {
      const { path, body } = request(route, n);
      return normalized(await api.call(route.method, path, { body, principal: EVE }), n);
    };
    const hidden = await ask(denied());
    const absent = await ask(creates.has(key) ? deniedMissing : missing);
    expect(hidden).toEqual(absent);
    expect(hidden.status).toBe(creates.has(key) || key.includes('/access-rules') ? 403 : 404);
    for (const rule of [DENY_RULE, 'eve-all', 'by rule', 'no rule']) expect(hidden.body).not.toContain(rule);
  });

  it('the list of an application hidden from the caller answers as for a missing application', async () => {
    const hidden = normalized(await api.call('GET', '/applications/secret/groups', { principal: EVE }), denied());
    const absent = normalized(await api.call('GET', '/applications/ghost/groups', { principal: EVE }), missing);
    expect(hidden).toEqual(absent);
    expect(hidden.status).toBe(404);
  });

  it('an administrator still tells them apart', async () => {
    expect((await api.call('GET', '/applications/secret')).status).toBe(200);
    expect((await api.call('GET', `/deployments/${ids.deployment}`)).status).toBe(200);
    expect((await api.call('GET', '/applications/ghost')).status).toBe(404);
  });
});
