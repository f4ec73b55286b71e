import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { loadEvent } from '../support/api-events.js';
import { useApi } from '../support/api-harness.js';

const api = useApi();
const groupBody = JSON.parse(loadEvent<{ body: string }>('api-put-group.json').body);
const onPremGroup = { targets: { onPremisesTagSet: [[{ key: 'env', value: 'local', type: 'KEY_AND_VALUE' }]] } };

async function itemCount(): Promise<number> {
  const out = await api.table.doc.send(new ScanCommand({ TableName: api.table.tableName, Select: 'COUNT' }));
  return out.Count ?? 0;
}

describe('applications', () => {
  it('creates with 201, updates with 200 keeping createdAt, and reads back', async () => {
    const created = await api.call('PUT', '/applications/web', { body: { description: 'Customer web app' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'web', description: 'Customer web app' });

    const updated = await api.call('PUT', '/applications/web', { body: { description: 'v2' } });
    expect(updated.status).toBe(200);
    expect(updated.body.createdAt).toBe(created.body.createdAt);

    const read = await api.call('GET', '/applications/web');
    expect(read.body).toEqual(updated.body);
  });

  it('accepts a PUT without a body', async () => {
    const created = await api.call('PUT', '/applications/bare');
    expect(created.status).toBe(201);
    expect(created.body.description).toBe('');
  });

  it('answers 404 for an unknown application', async () => {
    const missing = await api.call('GET', '/applications/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'NotFoundError', message: 'Application "nope" does not exist' });
  });

  it('lists every application across pages with an opaque nextToken', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    await Promise.all(names.map((name) => api.call('PUT', `/applications/${name}`)));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await api.call('GET', '/applications', { query: { limit: '3', ...(nextToken ? { nextToken } : {}) } });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((a: { name: string }) => a.name));
      nextToken = page.body.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.filter((n) => n.startsWith('paged-')).sort()).toEqual(names);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rejects a page size out of range and unknown query parameters', async () => {
    const res = await api.call('GET', '/applications', { query: { limit: '0', sort: 'name' } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: 'query.limit', message: 'must be at least 1' },
      { path: 'query.sort', message: 'is not a known field' },
    ]);
  });

  it('refuses to delete an application that still has groups, then deletes it once they are gone', async () => {
    await api.call('PUT', '/applications/doomed');
    await api.call('PUT', '/applications/doomed/groups/g1', { body: onPremGroup });
    const refused = await api.call('DELETE', '/applications/doomed');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/still has 1 deployment group/);

    expect((await api.call('DELETE', '/applications/doomed/groups/g1')).status).toBe(204);
    expect((await api.call('DELETE', '/applications/doomed')).status).toBe(204);
    expect((await api.call('GET', '/applications/doomed')).status).toBe(404);
    expect((await api.call('DELETE', '/applications/doomed')).status).toBe(404);
  });
});

describe('deployment groups', () => {
  it('creates a group with an EC2 tag set and one with an on-premises tag set, and lists both', async () => {
    await api.call('PUT', '/applications/shop');
    const staging = await api.call('PUT', '/applications/shop/groups/staging', { body: groupBody });
    expect(staging.status).toBe(201);
    expect(staging.body).toMatchObject({
      application: 'shop',
      name: 'staging',
      targets: groupBody.targets,
      deploymentConfig: 'OneAtATime',
      autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
      fileExistsBehavior: 'DISALLOW',
    });
    expect(staging.body.id).toMatch(/^[0-9a-f-]{36}$/);

    expect((await api.call('PUT', '/applications/shop/groups/local', { body: onPremGroup })).status).toBe(201);
    const list = await api.call('GET', '/applications/shop/groups');
    expect(list.body.items.map((g: { name: string }) => g.name)).toEqual(['local', 'staging']);
  });

  it('keeps the group ID and createdAt when a group is replaced', async () => {
    await api.call('PUT', '/applications/keep');
    const first = await api.call('PUT', '/applications/keep/groups/prod', { body: onPremGroup });
    const second = await api.call('PUT', '/applications/keep/groups/prod', {
      body: { ...onPremGroup, deploymentConfig: 'HalfAtATime' },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: first.body.id, createdAt: first.body.createdAt, deploymentConfig: 'HalfAtATime' });
  });

  it('answers 404 for a group in an unknown application, and writes nothing', async () => {
    const before = await itemCount();
    const res = await api.call('PUT', '/applications/ghost/groups/prod', { body: onPremGroup });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe('Application "ghost" does not exist');
    expect((await api.call('GET', '/applications/ghost/groups')).status).toBe(404);
    expect(await itemCount()).toBe(before);
  });

  it('counts groups exactly when many are created at once', async () => {
    await api.call('PUT', '/applications/busy');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => api.call('PUT', `/applications/busy/groups/g${i % 6}`, { body: onPremGroup })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(6);
    expect(results.filter((r) => r.status === 200)).toHaveLength(6);
    for (let i = 0; i < 6; i++) await api.call('DELETE', `/applications/busy/groups/g${i}`);
    expect((await api.call('DELETE', '/applications/busy')).status).toBe(204);
  });

  it('rejects bad input naming every problem, and writes nothing', async () => {
    await api.call('PUT', '/applications/strict');
    const before = await itemCount();
    const bad = await api.call('PUT', '/applications/strict/groups/bad', {
      body: {
        targets: {
          ec2TagSet: [[{ key: 'env', type: 'KEY_AND_VALUE' }], []],
          onPremisesTagSet: [Array.from({ length: 11 }, () => ({ key: 'a', type: 'KEY_ONLY' }))],
        },
        fileExistsBehavior: 'MERGE',
        extra: true,
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('ValidationError');
    const paths = bad.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '$.targets.ec2TagSet[0][0].value',
        '$.targets.ec2TagSet[1]',
        '$.targets.onPremisesTagSet[0]',
        '$.fileExistsBehavior',
        '$.extra',
      ]),
    );
    const unknownConfig = await api.call('PUT', '/applications/strict/groups/bad', {
      body: { ...onPremGroup, deploymentConfig: 'CodeDeployDefault.Fastest' },
    });
    expect(unknownConfig.status).toBe(422);
    expect(await itemCount()).toBe(before);
  });

  it('rejects names outside [A-Za-z0-9._-]{1,100} in the path', async () => {
    const res = await api.call('PUT', `/applications/${'x'.repeat(101)}/groups/a%20b`, { body: onPremGroup });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['path.app', 'path.group']);
  });
});

describe('registered instances', () => {
  it('registers, re-registers, lists, reads and deregisters an instance', async () => {
    const tags = [
      { key: 'env', value: 'local' },
      { key: 'fleet', value: 'local' },
    ];
    const created = await api.call('PUT', '/instances/local-1', { body: { tags } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ instanceId: 'local-1', tags, iamArn: null });

    const bound = 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/local-1';
    const updated = await api.call('PUT', '/instances/local-1', { body: { tags: tags.slice(0, 1), iamArn: bound } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ tags: tags.slice(0, 1), iamArn: bound, registeredAt: created.body.registeredAt });

    const list = await api.call('GET', '/instances');
    expect(list.body.items.map((i: { instanceId: string }) => i.instanceId)).toContain('local-1');
    // What the instance is, and what its agent told the server (nothing yet).
    expect((await api.call('GET', '/instances/local-1')).body).toEqual({ ...updated.body, agent: { version: null, lastSeenAt: null, online: false, channel: 'polling' } });
    expect((await api.call('DELETE', '/instances/local-1')).status).toBe(204);
    expect((await api.call('GET', '/instances/local-1')).status).toBe(404);
    expect((await api.call('DELETE', '/instances/local-1')).status).toBe(404);
  });

  it('rejects duplicate tag keys and a principal that is not an ARN', async () => {
    const res = await api.call('PUT', '/instances/local-9', {
      body: { tags: [{ key: 'env', value: 'a' }, { key: 'env', value: 'b' }], iamArn: 'bob' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: '$.tags[1].key', message: 'duplicate tag key "env"' },
      { path: '$.iamArn', message: 'must be an IAM user, role or assumed-role ARN' },
    ]);
  });
});

describe('deployment listings', () => {
  it('refuses a group without its application, naming why', async () => {
    const res = await api.call('GET', '/deployments', { query: { group: 'prod' } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: expect.stringContaining('group'), message: expect.stringMatching(/needs application/) }]);
  });
});
