import { instanceBodySchema } from '../domain/instance.js';
import { NotFoundError } from '../errors.js';
import { route, visibleItems } from './deps.js';

import { instanceParams, pageQuerySchema } from './schemas.js';

export const instanceRoutes = [
  route({
    method: 'PUT',
    path: '/instances/{instanceId}',
    access: { action: 'instances:put', resource: ({ params }) => `instance/${params.instanceId}` },
    params: instanceParams,
    body: instanceBodySchema,
    async handle({ params, body, deps }) {
      const now = deps.clock.now().toISOString();
      const { created, value } = await deps.instances.put(params.instanceId, body.tags, body.iamArn, now);
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route({
    method: 'GET',
    path: '/instances',
    access: { action: 'instances:list', list: true },
    query: pageQuerySchema,
    async handle({ query, deps, visible }) {
      return { statusCode: 200, body: visibleItems(await deps.instances.list(query), visible, (i) => `instance/${i.instanceId}`) };
    },
  }),
  route({
    method: 'GET',
    path: '/instances/{instanceId}',
    access: { action: 'instances:get', resource: ({ params }) => `instance/${params.instanceId}` },
    params: instanceParams,
    async handle({ params, deps }) {
      const instance = await deps.instances.get(params.instanceId);
      if (!instance) throw new NotFoundError(`Instance "${params.instanceId}" is not registered`);
      return { statusCode: 200, body: instance };
    },
  }),
  route({
    method: 'DELETE',
    path: '/instances/{instanceId}',
    access: { action: 'instances:delete', resource: ({ params }) => `instance/${params.instanceId}` },
    params: instanceParams,
    async handle({ params, deps }) {
      await deps.instances.delete(params.instanceId);
      return { statusCode: 204 };
    },
  }),
];
