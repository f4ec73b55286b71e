import { toDeploymentGroupSettings } from '../domain/deployment-group.js';
import { roleOutOfScope } from '../domain/role-arn.js';
import { type TriggerConfiguration, topicsOutside } from '../domain/triggers.js';
import { notFound } from '../domain/not-found.js';
import { roleScopeOf } from '../deployments/engine-deps.js';
import { ForbiddenError, UnprocessableError } from '../errors.js';
import { type ApiDeps, route } from './deps.js';
import { operations } from './operations.js';

const groupResource = ({ params }: { params: { app: string; group: string } }) => `application/${params.app}/group/${params.group}`;
const groupMissing = ({ params }: { params: { app: string; group: string } }) => notFound.group(params.app, params.group);

async function requireHookRoleGrant(principal: string, roleArn: string, deps: ApiDeps): Promise<void> {
  try {
    await deps.authorizer.authorize(principal, 'credentials:issue', roleArn);
  } catch (error) {
    if (!(error instanceof ForbiddenError)) throw error;
    throw new ForbiddenError(`${error.message}: setting hookRoleArn hands the group's hooks credentials for the role, so it needs credentials:issue on ${roleArn}`, [
      { path: '$.hookRoleArn', message: `needs credentials:issue on ${roleArn}` },
    ]);
  }
}

/** Triggers publish only to the topics the stack's deploy parameter triggerTopicArns allows (the worker's IAM allows those alone). */
function requireAllowedTopics(triggers: TriggerConfiguration[], deps: ApiDeps): void {
  const allowed = deps.triggerTopicArns ?? [];
  const outside = topicsOutside(triggers, allowed);
  if (outside.length === 0) return;
  const scope = allowed.length === 0 ? 'allows no topic (it is empty)' : `allows only ${allowed.join(', ')}`;
  throw new UnprocessableError(
    `Fleetline may not publish to ${outside.map((o) => o.arn).join(', ')}: the deploy parameter triggerTopicArns ${scope}; redeploy with the topic added to triggerTopicArns`,
    outside.map(({ index, arn }) => ({ path: `$.triggerConfigurations[${index}].triggerTargetArn`, message: `${arn} is not allowed by the deploy parameter triggerTopicArns` })),
  );
}

export const groupRoutes = [
  route(operations.putGroup, {
    access: { action: 'groups:put', resource: groupResource },
    async handle({ params, body, deps, principal }) {
      const settings = toDeploymentGroupSettings(body);
      requireAllowedTopics(settings.triggerConfigurations, deps);
      // A hook role is a credential handed to the group's hooks: setting it takes the grant POST /credentials takes.
      if (settings.hookRoleArn) await requireHookRoleGrant(principal, settings.hookRoleArn, deps);
      const roles: [string, string | null | undefined][] = [
        ['$.hookRoleArn', settings.hookRoleArn],
        ['$.targets.targetRoleArn', settings.targets.targetRoleArn],
      ];
      const refused = roles.flatMap(([path, arn]) => {
        const problem = arn ? roleOutOfScope(arn, roleScopeOf(deps)) : undefined;
        return problem ? [{ path, message: problem }] : [];
      });
      if (refused.length > 0) throw new UnprocessableError(`Fleetline will not assume ${refused.length === 1 ? 'this role' : 'these roles'}: ${refused.map((r) => r.message).join('; ')}`, refused);
      const now = deps.clock.now().toISOString();
      const stored = { ...settings, hookRoleSetBy: settings.hookRoleArn ? principal : null };
      const { created, value } = await deps.groups.put(params.app, params.group, stored, now, deps.newId);
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route(operations.listGroups, {
    access: { action: 'groups:list', list: true },
    async handle({ params, query, deps, visible }) {
      const page = await deps.groups.list(params.app, { ...query, visible: (g) => visible(`application/${params.app}/group/${g.name}`) });
      // Nothing to show at all (a first page reads to the end before it is empty): to a caller who may not
      // list every group of the application, that is what a missing application looks like.
      if (page.items.length === 0 && !query.nextToken) {
        if (!visible(`application/${params.app}/group/*`) || !(await deps.applications.get(params.app))) throw notFound.application(params.app);
      }
      return { statusCode: 200, body: page };
    },
  }),
  route(operations.getGroup, {
    access: { action: 'groups:get', resource: groupResource, missing: groupMissing },
    async handle({ params, deps }) {
      const group = await deps.groups.get(params.app, params.group);
      // Whether or not the application exists: a group the caller may not see answers the same.
      if (!group) throw groupMissing({ params });
      return { statusCode: 200, body: group };
    },
  }),
  route(operations.deleteGroup, {
    access: { action: 'groups:delete', resource: groupResource, missing: groupMissing },
    async handle({ params, deps }) {
      await deps.groups.delete(params.app, params.group);
      return { statusCode: 204 };
    },
  }),
];
