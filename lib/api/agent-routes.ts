import { z } from 'zod';
import { agentReportSchema } from '../domain/agent-report.js';
import { mayActAsAgent } from '../domain/identity.js';
import { nameSchema } from '../domain/names.js';
import { instanceTagsSchema } from '../domain/tags.js';
import { poll, pollBodySchema, report } from '../deployments/agent-protocol.js';
import { ForbiddenError } from '../errors.js';
import { route } from './deps.js';

/** Routes only an instance's own agent may call (checked in the use cases). */
export const agentRoutes = [
  route({
    method: 'POST',
    path: '/agent/v1/poll',
    access: 'agent',
    body: pollBodySchema,
    async handle({ body, principal, deps }) {
      return { statusCode: 200, body: await poll(principal, body.instanceId, deps, body.heartbeat ?? false) };
    },
  }),
  route({
    method: 'POST',
    path: '/agent/v1/report',
    access: 'agent',
    body: agentReportSchema,
    async handle({ body, principal, deps }) {
      return { statusCode: 200, body: await report(principal, body, deps) };
    },
  }),
  route({
    method: 'POST',
    path: '/agent/v1/register',
    access: 'agent',
    body: z.strictObject({ instanceId: nameSchema, tags: instanceTagsSchema.default([]) }),
    async handle({ body, principal, deps }) {
      const existing = await deps.instances.get(body.instanceId);
      // An agent session may register its own instance; it can never take over one bound to someone else.
      if (!mayActAsAgent(principal, body.instanceId, existing?.iamArn, deps.agentRoleNames)) {
        throw new ForbiddenError(`${principal} may not register instance ${body.instanceId}`);
      }
      if (existing?.iamArn && existing.iamArn !== principal) {
        throw new ForbiddenError(`Instance ${body.instanceId} is bound to another principal`);
      }
      const now = deps.clock.now().toISOString();
      const { created, value } = await deps.instances.put(body.instanceId, body.tags, principal, now);
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
];
