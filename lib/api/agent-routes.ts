import {
  heartbeatAnswerSchema,
  pollAnswerSchema,
  pollRequestSchema,
  registerAnswerSchema,
  registerRequestSchema,
  reportAnswerSchema,
  reportRequestSchema,
} from '../domain/agent-wire.js';
import { mayActAsAgent } from '../domain/identity.js';
import { poll, report } from '../deployments/agent-protocol.js';
import { ForbiddenError } from '../errors.js';
import { route } from './deps.js';

/** Routes only an instance's own agent may call (checked in the use cases). */
export const agentRoutes = [
  route({
    method: 'POST',
    path: '/agent/v1/poll',
    access: 'agent',
    body: pollRequestSchema,
    async handle({ body, principal, deps }) {
      // Answers are built through the wire contract: a shape the agent would refuse is our bug (a 500), never sent.
      const answer = await poll(principal, body.instanceId, deps, body.heartbeat ?? false);
      return { statusCode: 200, body: (body.heartbeat ? heartbeatAnswerSchema : pollAnswerSchema).parse(answer) };
    },
  }),
  route({
    method: 'POST',
    path: '/agent/v1/report',
    access: 'agent',
    body: reportRequestSchema,
    async handle({ body, principal, deps }) {
      return { statusCode: 200, body: reportAnswerSchema.parse(await report(principal, body, deps)) };
    },
  }),
  route({
    method: 'POST',
    path: '/agent/v1/register',
    access: 'agent',
    body: registerRequestSchema,
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
      return { statusCode: created ? 201 : 200, body: registerAnswerSchema.parse(value) };
    },
  }),
];
