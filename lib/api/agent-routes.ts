import { heartbeatAnswerSchema, pollAnswerSchema, registerAnswerSchema, reportAnswerSchema } from '../domain/agent-wire.js';
import { isEc2InstanceId, mayActAsAgent } from '../domain/identity.js';
import { nameSchema } from '../domain/names.js';
import { authorizeAgent, poll, probe, report } from '../deployments/agent-protocol.js';
import { appendLiveChunk } from '../deployments/live-log.js';
import { liveChunkAnswerSchema } from '../domain/live-log.js';
import { ForbiddenError, UnprocessableError } from '../errors.js';
import { type ApiDeps, agentTrust, route } from './deps.js';
import { operations } from './operations.js';

/**
 * An invalid agent request is answered 400 only to the agent of the instance it
 * names; anyone else (or a body naming no valid instance) gets 403, so callers
 * that are not agents learn nothing from validation answers.
 */
async function gateInvalidAgentRequest(principal: string, rawBody: unknown, deps: ApiDeps): Promise<void> {
  const named = rawBody !== null && typeof rawBody === 'object' ? (rawBody as { instanceId?: unknown }).instanceId : undefined;
  const instanceId = nameSchema.safeParse(named);
  if (!instanceId.success) throw new ForbiddenError(`${principal} may not act as an agent without naming a valid instanceId`);
  await authorizeAgent(principal, instanceId.data, deps);
}

/** Routes only an instance's own agent may call (checked in the use cases). */
export const agentRoutes = [
  route(operations.agentPoll, {
    access: 'agent',
    gateInvalid: gateInvalidAgentRequest,
    async handle({ body, principal, deps }) {
      // Answers are built through the wire contract: a shape the agent would refuse is our bug (a 500), never sent.
      if (body.noLease) return { statusCode: 200, body: pollAnswerSchema.parse(await probe(principal, body.instanceId, deps)), routine: true };
      const answer = await poll(principal, body.instanceId, deps, body.heartbeat ? { running: body.deploymentId } : undefined, body.agentVersion ?? null);
      const routine = !body.heartbeat && answer.assignment === null;
      return { statusCode: 200, body: (body.heartbeat ? heartbeatAnswerSchema : pollAnswerSchema).parse(answer), routine };
    },
  }),
  route(operations.agentReport, {
    access: 'agent',
    gateInvalid: gateInvalidAgentRequest,
    async handle({ body, principal, deps }) {
      return { statusCode: 200, body: reportAnswerSchema.parse(await report(principal, body, deps)) };
    },
  }),
  route(operations.agentLog, {
    access: 'agent',
    gateInvalid: gateInvalidAgentRequest,
    /** A chunk of the running hook's output, sent only while someone follows (docs/live-logs.md). */
    async handle({ body, principal, deps }) {
      return { statusCode: 200, body: liveChunkAnswerSchema.parse(await appendLiveChunk(principal, body, deps)) };
    },
  }),
  route(operations.agentRegister, {
    access: 'agent',
    gateInvalid: gateInvalidAgentRequest,
    /**
     * An agent session may register its own on-premises instance. It never chooses
     * its targeting tags: a new instance is created with none (the tags it asked
     * for are kept as `requestedTags` for an administrator to review and set), and
     * an existing instance is returned unchanged. EC2 instances' tags come from EC2.
     */
    async handle({ body, principal, deps }) {
      const existing = await deps.instances.get(body.instanceId);
      if (!mayActAsAgent(principal, body.instanceId, existing?.iamArn, agentTrust(deps))) {
        throw new ForbiddenError(`${principal} may not register instance ${body.instanceId}`);
      }
      if (existing) return { statusCode: 200, body: registerAnswerSchema.parse(existing) };
      if (isEc2InstanceId(body.instanceId)) {
        throw new UnprocessableError(
          `${body.instanceId} is an EC2 instance: its tags come from EC2 (target it with ec2TagSet), so its agent registers nothing; run it without --tags`,
        );
      }
      const now = deps.clock.now().toISOString();
      const { created, value } = await deps.instances.registerNew(body.instanceId, principal, body.tags, now);
      return { statusCode: created ? 201 : 200, body: registerAnswerSchema.parse(value) };
    },
  }),
];
