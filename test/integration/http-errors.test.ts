import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../lib/http/middleware/json-body.js';
import { loadEvent } from '../support/api-events.js';
import { useApi } from '../support/api-harness.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { lambdaContext } from '../../local/lambda-context.js';
import type { ApiEvent } from '../../lib/http/types.js';

const SECRET = 'connect ECONNREFUSED 10.0.3.7:8000 table=fleetline-prod';
const api = useApi((deps) => ({
  instances: {
    ...deps.instances,
    list: async () => {
      throw new Error(SECRET);
    },
  },
}));

describe('HTTP edge cases', () => {
  it('answers /health without a signed caller, from the sample event', async () => {
    const handler = createApiHandler(api.deps);
    const res = await handler(loadEvent<ApiEvent>('api-get-health.json'), lambdaContext('api'));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body ?? '')).toEqual({ status: 'ok' });
  });

  it('serves the sample PUT /applications/web event', async () => {
    const handler = createApiHandler(api.deps);
    const res = await handler(loadEvent<ApiEvent>('api-put-application.json'), lambdaContext('api'));
    expect([200, 201]).toContain(res.statusCode);
    expect(JSON.parse(res.body ?? '')).toMatchObject({ name: 'web', description: 'Customer web app' });
  });

  it('rejects an unsigned request to any other route with 401', async () => {
    const res = await api.call('GET', '/applications', { principal: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UnauthorizedError');
  });

  it('hides the cause of a 500 and gives the request ID instead', async () => {
    const res = await api.call('GET', '/instances');
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({ code: 'InternalError', message: 'Internal server error', requestId: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('ECONNREFUSED');
  });

  it('names the position of malformed JSON', async () => {
    const res = await api.call('PUT', '/applications/web', { rawBody: '{"description": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('$');
    expect(res.body.error.message).toBe('The request body is not valid JSON');
  });

  it('answers 413 for a body over the limit, before parsing it', async () => {
    const res = await api.call('PUT', '/applications/web', { rawBody: `"${'x'.repeat(MAX_BODY_BYTES)}"` });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PayloadTooLargeError');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await api.call('PUT', '/applications/web', { rawBody: 'description=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
  });

  it('rejects a body where the route takes none', async () => {
    const res = await api.call('DELETE', '/applications/web', { body: { force: true } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: '$', message: 'must be empty' }]);
  });

  it('answers 404 and 405 in the error format', async () => {
    expect((await api.call('GET', '/nothing-here')).body.error.code).toBe('NotFoundError');
    const wrongMethod = await api.call('PATCH', '/applications/web');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error.code).toBe('MethodNotAllowedError');
  });

  it('rejects a JSON body that is not an object where one is expected', async () => {
    const res = await api.call('PUT', '/instances/i-1', { body: [1, 2] });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({ path: '$' });
  });
});
