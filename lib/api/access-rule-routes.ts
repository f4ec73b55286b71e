import { NotFoundError } from '../errors.js';
import { route } from './deps.js';
import { operations } from './operations.js';

/** Rule management: only principals allowed access:* (the administrators, at first). */
export const accessRuleRoutes = [
  route(operations.putAccessRule, {
    access: { action: 'access:put', resource: ({ params }) => `access-rule/${params.id}` },
    async handle({ params, body, deps }) {
      const rule = { id: params.id, ...body };
      const created = await deps.accessRules.put(rule);
      return { statusCode: created ? 201 : 200, body: rule };
    },
  }),
  route(operations.listAccessRules, {
    access: { action: 'access:list', list: true },
    async handle({ deps }) {
      return { statusCode: 200, body: { items: await deps.accessRules.list() } };
    },
  }),
  route(operations.getAccessRule, {
    access: { action: 'access:get', resource: ({ params }) => `access-rule/${params.id}` },
    async handle({ params, deps }) {
      const rule = await deps.accessRules.get(params.id);
      if (!rule) throw new NotFoundError(`Access rule "${params.id}" does not exist`);
      return { statusCode: 200, body: rule };
    },
  }),
  route(operations.deleteAccessRule, {
    access: { action: 'access:delete', resource: ({ params }) => `access-rule/${params.id}` },
    async handle({ params, deps }) {
      await deps.accessRules.delete(params.id);
      return { statusCode: 204 };
    },
  }),
];
