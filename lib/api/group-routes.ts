import { deploymentGroupBodySchema, toDeploymentGroupSettings } from '../domain/deployment-group.js';
import { underRolePath } from '../domain/credentials.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import { type ApiDeps, route } from './deps.js';

import { appParams, groupParams, pageQuerySchema } from './schemas.js';

async function requireApplication(deps: ApiDeps, app: string): Promise<void> {
  if (!(await deps.applications.get(app))) throw new NotFoundError(`Application "${app}" does not exist`);
}

export const groupRoutes = [
  route({
    method: 'PUT',
    path: '/applications/{app}/groups/{group}',
    access: ({ params }) => ({ action: 'groups:put', resource: `application/${params.app}/group/${params.group}` }),
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
    access: ({ params }) => ({ action: 'groups:list', resource: `application/${params.app}/group/*` }),
    params: appParams,
    query: pageQuerySchema,
    async handle({ params, query, deps }) {
      // An empty page must still tell "no groups" from "no such application".
      const page = await deps.groups.list(params.app, query);
      if (page.items.length === 0 && !query.nextToken) await requireApplication(deps, params.app);
      return { statusCode: 200, body: page };
    },
  }),
  route({
    method: 'GET',
    path: '/applications/{app}/groups/{group}',
    access: ({ params }) => ({ action: 'groups:get', resource: `application/${params.app}/group/${params.group}` }),
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
    access: ({ params }) => ({ action: 'groups:delete', resource: `application/${params.app}/group/${params.group}` }),
    params: groupParams,
    async handle({ params, deps }) {
      await deps.groups.delete(params.app, params.group);
      return { statusCode: 204 };
    },
  }),
];
