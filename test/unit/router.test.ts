import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/api/handler.js';
import { MethodNotAllowedError, NotFoundError } from '../../lib/errors.js';
import { matchRoute } from '../../lib/http/router.js';

describe('routing', () => {
  it('matches a template and decodes each path segment', () => {
    const { route, params } = matchRoute(apiRoutes, 'GET', '/applications/my%20app/groups/blue.green');
    expect(route.path).toBe('/applications/{app}/groups/{group}');
    expect(params).toEqual({ app: 'my app', group: 'blue.green' });
  });

  it('prefers the exact method among routes with the same path', () => {
    expect(matchRoute(apiRoutes, 'DELETE', '/instances/i-0abc').route.method).toBe('DELETE');
    expect(matchRoute(apiRoutes, 'PUT', '/instances/i-0abc').route.method).toBe('PUT');
  });

  it('answers 405 for a known path with another method, 404 for an unknown path', () => {
    expect(() => matchRoute(apiRoutes, 'POST', '/applications/web')).toThrow(MethodNotAllowedError);
    expect(() => matchRoute(apiRoutes, 'GET', '/applications/web/nope')).toThrow(NotFoundError);
  });

  it('declares every route once', () => {
    const keys = apiRoutes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
