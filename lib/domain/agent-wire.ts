import { z } from 'zod';
import { agentReportSchema, eventsReportSchema } from './agent-report.js';
import { AGENT_VERSION_PATTERN } from './agent-presence.js';
import { MAX_CHANNEL_URL_LENGTH } from './channel-url.js';
import { BUNDLE_TYPES, DEPLOYMENT_ID_PATTERN } from './deployment.js';
import { fileExistsBehaviorSchema } from './file-exists-behavior.js';
import { principalArnSchema } from './instance.js';
import { EVENT_STATUSES, INSTANCE_STATUSES } from './lifecycle.js';
import { nameSchema } from './names.js';
import { instanceTagsSchema } from './tags.js';
import { issuesToDetails } from './validation.js';
import { schema } from './schema.js';

/**
 * The agent protocol on the wire, both ways: the API validates requests and
 * builds its answers with these schemas, the agent parses the answers with
 * them. Answers are read leniently (unknown fields dropped) so a newer server
 * does not break an older agent; requests are strict.
 */

const deploymentId = /* @__PURE__ */ schema(() => z.string().regex(DEPLOYMENT_ID_PATTERN, 'must be a deployment ID (d-XXXXXXXXX)'));

/**
 * The agent names folders and files after these wire fields (its state folder
 * holds deployments/<deploymentId>/ and groups/<deploymentGroupId>/), so each
 * is one plain path segment: no separator, no `.` or `..`, nothing hidden.
 */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Lifecycle event names as the server sends them: letters and digits only (forward compatible with new events). */
export const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
/** Whether a wire field may be used as one segment of a path in the agent's state folder. */
export const isPathSafeId = (value: string): boolean => DEPLOYMENT_ID_PATTERN.test(value) || GROUP_ID_PATTERN.test(value);

export const pollRequestSchema = /* @__PURE__ */ schema(() => z.strictObject({
  instanceId: nameSchema,
  /** A check-in while a hook runs: renews the lease and carries stop requests, nothing more. */
  heartbeat: z.boolean({ error: 'must be true or false' }).optional(),
  /** With a heartbeat: the deployment the agent is running (another one for the same instance stays unacknowledged). */
  deploymentId: deploymentId.optional(),
  /** The agent's own version (AGENT_VERSION); agents from before versions send none. */
  agentVersion: z.string().regex(AGENT_VERSION_PATTERN, 'must be a version such as 1.2.3').optional(),
  /**
   * A poll that only checks the agent may poll (`fleetline-agent --check`): it
   * is authorized as any poll, and answered idle whatever is waiting. It takes
   * no assignment, renews no lease and records no contact.
   */
  noLease: z.literal(true, { error: 'must be true when given' }).optional(),
}).refine((poll) => !(poll.noLease && poll.heartbeat), { error: 'a heartbeat holds a lease: it cannot be a noLease poll', path: ['noLease'] }));
export type PollRequest = z.input<typeof pollRequestSchema>;

/**
 * What the agent sends: every event that finished since its last report and
 * the one it starts now, in one request (eventsReportSchema). The one-event
 * shape of older agents is still taken.
 */
export const reportRequestSchema = /* @__PURE__ */ schema(() => z.union([eventsReportSchema, agentReportSchema]));
export type ReportRequest = z.output<typeof reportRequestSchema>;

export const registerRequestSchema = /* @__PURE__ */ schema(() => z.strictObject({ instanceId: nameSchema, tags: instanceTagsSchema.default([]) }));

export const agentActionSchema = /* @__PURE__ */ schema(() => z.enum(['continue', 'stop']));
export type AgentAction = z.output<typeof agentActionSchema>;

const httpUrl = /* @__PURE__ */ schema(() => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }));
const seconds = /* @__PURE__ */ schema(() => z.number().positive().max(86_400));

export const hookCredentialsSchema = /* @__PURE__ */ schema(() => z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1),
  expiration: z.string(),
}));

/** What the agent checks the download against: exactly what the server knows of the object. */
export const bundleSchema = /* @__PURE__ */ schema(() => z.object({
  url: httpUrl,
  bundleType: z.enum(BUNDLE_TYPES),
  eTag: z.string().min(1).optional(),
  size: z.number().int().nonnegative().optional(),
  /** Hex SHA-256 of the whole object. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256').optional(),
}));

export const assignmentSchema = /* @__PURE__ */ schema(() => z.object({
  deploymentId,
  applicationName: nameSchema,
  deploymentGroupName: nameSchema,
  deploymentGroupId: z.string().regex(GROUP_ID_PATTERN, 'must be a deployment group ID (letters, digits, - and _)'),
  revision: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    version: z.string().optional(),
    eTag: z.string().optional(),
    bundleType: z.enum(BUNDLE_TYPES),
  }),
  bundle: bundleSchema,
  logUpload: z.object({ url: httpUrl }),
  events: z.array(z.object({ name: z.string().regex(EVENT_NAME_PATTERN, 'must be a lifecycle event name'), status: z.enum(EVENT_STATUSES) })).min(1),
  fileExistsBehavior: fileExistsBehaviorSchema,
  ignoreApplicationStopFailures: z.boolean(),
  environment: z.record(z.string(), z.string()),
  leaseSeconds: seconds,
  hookCredentials: hookCredentialsSchema.optional(),
}));
export type Assignment = z.output<typeof assignmentSchema>;

/**
 * Where the agent's control channel is, in every poll answer of a server that
 * has one: the agent opens it the first time it learns it. Any string is taken
 * here; the agent opens only what channelUrlProblem accepts, and logs a refusal
 * (a URL it will not open must not stop the agent from polling).
 */
const channelUrl = /* @__PURE__ */ schema(() => z.string().max(MAX_CHANNEL_URL_LENGTH).optional());

/** The oldest agent version the server wants: an older agent says so in its log. */
const minimumAgentVersion = /* @__PURE__ */ schema(() => z.string().max(32).optional());

const idleAnswer = /* @__PURE__ */ schema(() => z.object({ assignment: z.null(), pollAfterSeconds: seconds, channelUrl, minimumAgentVersion }));

export const pollAnswerSchema = /* @__PURE__ */ schema(() => z.union([
  idleAnswer,
  z.object({ assignment: assignmentSchema, action: agentActionSchema, heartbeatSeconds: seconds, channelUrl, minimumAgentVersion }),
]));
export type PollAnswer = z.output<typeof pollAnswerSchema>;

/** A heartbeat's answer names the deployment only (or none: the instance has nothing left to run). */
export const heartbeatAnswerSchema = /* @__PURE__ */ schema(() => z.union([
  idleAnswer,
  z.object({
    assignment: z.object({ deploymentId }),
    action: agentActionSchema,
    heartbeatSeconds: seconds,
    /** Someone follows this deployment's log here: stream its output this many seconds more (docs/live-logs.md). */
    followSeconds: z.number().positive().max(3600).optional(),
  }),
]));
export type HeartbeatAnswer = z.output<typeof heartbeatAnswerSchema>;

export const reportAnswerSchema = /* @__PURE__ */ schema(() => z.object({
  action: agentActionSchema,
  instanceStatus: z.enum(INSTANCE_STATUSES),
  duplicate: z.boolean(),
}));
export type ReportAnswer = z.output<typeof reportAnswerSchema>;

export const registerAnswerSchema = /* @__PURE__ */ schema(() => z.object({
  instanceId: nameSchema,
  tags: instanceTagsSchema,
  /** What a new self-registered instance asked for; never applied until an administrator sets its tags. */
  requestedTags: instanceTagsSchema.optional(),
  iamArn: principalArnSchema.nullable(),
  registeredAt: z.string(),
  updatedAt: z.string(),
}));

/** An answer that does not match the wire contract: the other side is broken or not ours. */
export class WireContractError extends Error {
  override readonly name = 'WireContractError';
}

/** Reads an answer by its schema, or throws a WireContractError naming every mismatch by path. */
export function readAnswer<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = issuesToDetails(result.error.issues).slice(0, 5).map((d) => `${d.path} ${d.message}`);
  throw new WireContractError(`${what} does not match the agent protocol: ${problems.join('; ')}`);
}
