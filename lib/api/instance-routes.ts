import type { AgentStatus } from '../domain/agent-presence.js';
import type { RegisteredInstance } from '../domain/instance.js';
import { isAgentSessionOf, isEc2InstanceId } from '../domain/identity.js';
import { notFound } from '../domain/not-found.js';
import { UnprocessableError } from '../errors.js';
import { agentStatuses } from './agent-statuses.js';
import { type ApiDeps, agentTrust, route } from './deps.js';
import { operations } from './operations.js';

export const instanceRoutes = [
  route(operations.putInstance, {
    access: { action: 'instances:put', resource: ({ params }) => `instance/${params.instanceId}` },
    async handle({ params, body, deps, principal }) {
      // The binding decides who polls the instance's work and reports for it: instances:put covers tags alone.
      if (body.iamArn !== undefined) deps.authorizer.requireAdmin(principal, `set iamArn on instance/${params.instanceId}`);
      // Binding hands the instance's assignments to a principal: an EC2 instance's only ever go to its own session.
      if (body.iamArn && isEc2InstanceId(params.instanceId) && !isAgentSessionOf(body.iamArn, params.instanceId, agentTrust(deps))) {
        throw new UnprocessableError(`${params.instanceId} is an EC2 instance: it can only be bound to its own agent session`, [
          {
            path: '$.iamArn',
            message: `must be arn:aws:sts::<agent account>:assumed-role/<agent role>/${params.instanceId} (agent roles: ${deps.agentRoleNames.join(', ')})`,
          },
        ]);
      }
      const now = deps.clock.now().toISOString();
      const { created, value } = await deps.instances.put(params.instanceId, { tags: body.tags, iamArn: body.iamArn }, now);
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route(operations.listInstances, {
    access: { action: 'instances:list', list: true },
    async handle({ query, deps, visible }) {
      const page = await deps.instances.list({ ...query, visible: (i) => visible(`instance/${i.instanceId}`) });
      return { statusCode: 200, body: { ...page, items: await withAgents(page.items, deps) } };
    },
  }),
  route(operations.getInstance, {
    access: { action: 'instances:get', resource: ({ params }) => `instance/${params.instanceId}`, missing: ({ params }) => notFound.instance(params.instanceId) },
    async handle({ params, deps }) {
      const instance = await deps.instances.get(params.instanceId);
      if (!instance) throw notFound.instance(params.instanceId);
      const statuses = await agentStatuses([instance.instanceId], deps);
      return { statusCode: 200, body: { ...instance, agent: statuses.get(instance.instanceId)! } };
    },
  }),
  route(operations.deleteInstance, {
    access: { action: 'instances:delete', resource: ({ params }) => `instance/${params.instanceId}`, missing: ({ params }) => notFound.instance(params.instanceId) },
    async handle({ params, deps }) {
      await deps.instances.delete(params.instanceId);
      return { statusCode: 204 };
    },
  }),
];

/** Each instance with what its agent last told the server. */
async function withAgents(instances: RegisteredInstance[], deps: ApiDeps): Promise<(RegisteredInstance & { agent: AgentStatus })[]> {
  const statuses = await agentStatuses(instances.map((i) => i.instanceId), deps);
  return instances.map((i) => ({ ...i, agent: statuses.get(i.instanceId)! }));
}
