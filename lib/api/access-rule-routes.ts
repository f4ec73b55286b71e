import { z } from 'zod';
import { accessRuleBodySchema } from '../domain/access.js';
import { NotFoundError } from '../errors.js';
import { route } from './deps.js';

const ruleParams = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 characters from A-Z a-z 0-9 . _ -') });

/** Rule management: only principals allowed access:* (the administrators, at first). */
export const accessRuleRoutes = [
  route({
    method: 'PUT',
    path: '/access-rules/{id}',
    access: { action: 'access:put', resource: ({ params }) => `access-rule/${params.id}` },
    params: ruleParams,
    body: accessRuleBodySchema,
    async handle({ params, body, deps }) {
      const rule = { id: params.id, ...body };
      const created = await deps.accessRules.put(rule);
      return { statusCode: created ? 201 : 200, body: rule };
    },
  }),
  route({
    method: 'GET',
    path: '/access-rules',
    access: { action: 'access:list', list: true },
    async handle({ deps }) {
      return { statusCode: 200, body: { items: await deps.accessRules.list() } };
    },
  }),
  route({
    method: 'GET',
    path: '/access-rules/{id}',
    access: { action: 'access:get', resource: ({ params }) => `access-rule/${params.id}` },
    params: ruleParams,
    async handle({ params, deps }) {
      const rule = await deps.accessRules.get(params.id);
      if (!rule) throw new NotFoundError(`Access rule "${params.id}" does not exist`);
      return { statusCode: 200, body: rule };
    },
  }),
  route({
    method: 'DELETE',
    path: '/access-rules/{id}',
    access: { action: 'access:delete', resource: ({ params }) => `access-rule/${params.id}` },
    params: ruleParams,
    async handle({ params, deps }) {
      await deps.accessRules.delete(params.id);
      return { statusCode: 204 };
    },
  }),
];
