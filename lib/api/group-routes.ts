import { deploymentGroupBodySchema, toDeploymentGroupSettings } from '../domain/deployment-group.js';
import { underRolePath } from '../domain/credentials.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import { type ApiDeps, route, visibleItems } from './deps.js';

import { appParams, groupParams, pageQuerySchema } from './schemas.js';

async function requireApplication(deps: ApiDeps, app: string): Promise<void> {
  if (!(await deps.applications.get(app))) throw new NotFoundError(`Application "${app}" does not exist`);
}

export const groupRoutes = [
  route({
    method: 'PUT',
    path: '/applications/{app}/groups/{group}',
    access: { action: 'groups:put', resource: ({ params }) => `application/${params.app}/group/${params.group}` },
    params: groupParams,
    body: deploymentGroupBodySchema,
    async handle({ params, body, deps }) {
      const settings = toDeploymentGroupSettings(body);
      const outside = [
        ['$.hookRoleArn', settings.hookRoleArn],
        ['$.targets.targetRoleArn', settings.targets.targetRoleArn],
      ].filter(([, arn]) => arn && !underRolePath(arn, deps.assumableRolePath));
      if (outside.length > 0) {
        throw new UnprocessableError(`Fleetline only assumes roles under ${deps.assumableRolePath}`, outside.map(([path]) => ({
          path: path as string,
          message: `must be a role under ${deps.assumableRolePath}`,
        })));
      }
      const now = deps.clock.now().toISOString();
      const { created, value } = await deps.groups.put(params.app, params.group, settings, now, deps.newId);
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route({
    method: 'GET',
    path: '/applications/{app}/groups',
    access: { action: 'groups:list', list: true },
    params: appParams,
    query: pageQuerySchema,
    async handle({ params, query, deps, visible }) {
      const page = await deps.groups.list(params.app, query);
      // An empty page tells "no groups" from "no such application" only to a caller who may list all of its groups.
      if (page.items.length === 0 && !query.nextToken && visible(`application/${params.app}/group/*`)) await requireApplication(deps, params.app);
      return { statusCode: 200, body: visibleItems(page, visible, (g) => `application/${params.app}/group/${g.name}`) };
    },
  }),
  route({
    method: 'GET',
    path: '/applications/{app}/groups/{group}',
    access: { action: 'groups:get', resource: ({ params }) => `application/${params.app}/group/${params.group}` },
    params: groupParams,
    async handle({ params, deps }) {
      const group = await deps.groups.get(params.app, params.group);
      if (!group) {
        await requireApplication(deps, params.app);
        throw new NotFoundError(`Deployment group "${params.group}" does not exist in application "${params.app}"`);
      }
      return { statusCode: 200, body: group };
    },
  }),
  route({
    method: 'DELETE',
    path: '/applications/{app}/groups/{group}',
    access: { action: 'groups:delete', resource: ({ params }) => `application/${params.app}/group/${params.group}` },
    params: groupParams,
    async handle({ params, deps }) {
      await deps.groups.delete(params.app, params.group);
      return { statusCode: 204 };
    },
  }),
];
