import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';

/**
 * Listing deployments of an application or group that does not exist is a 404
 * naming it. A caller whose grant does not cover every group it could hold
 * gets that same answer for an empty listing, whether the application exists or not.
 */
const api = useApi();
const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';

describe('GET /deployments?application=…', () => {
  it('is a 404 naming the application or group that does not exist', async () => {
    await api.call('PUT', '/applications/web');
    const app = await api.call('GET', '/deployments', { query: { application: 'nope' } });
    expect([app.status, app.body.error?.message]).toEqual([404, 'Application "nope" does not exist']);
    const group = await api.call('GET', '/deployments', { query: { application: 'web', group: 'nope' } });
    expect([group.status, group.body.error?.message]).toEqual([404, 'Deployment group "nope" does not exist in application "web"']);
    expect(await api.call('GET', '/deployments', { query: { application: 'web' } })).toMatchObject({ status: 200, body: { items: [] } });
  });

  it('tells nothing to a caller whose grant does not cover the whole application: the same 404 either way', async () => {
    await api.call('PUT', '/access-rules/bob', {
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/deployer'], actions: ['deployments:list'], resources: ['application/web/group/prod'] },
    });
    for (const application of ['nope', 'web']) {
      const res = await api.call('GET', '/deployments', { principal: BOB, query: { application } });
      expect([application, res.status, res.body.error?.message]).toEqual([application, 404, `Application "${application}" does not exist`]);
    }
  });
});
