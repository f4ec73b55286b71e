import { z } from 'zod';
import { AGENT_CHANNELS } from '../domain/agent-presence.js';
import { ROLLBACK_EVENTS } from '../domain/deployment-group.js';
import { PRESET_CONFIGS } from '../domain/deployment-config.js';
import { BUNDLE_TYPES } from '../domain/deployment.js';
import { BUILD_VARIABLE_TYPES } from '../domain/build.js';
import { FILE_EXISTS_BEHAVIORS } from '../domain/file-exists-behavior.js';
import { BUSY_BEHAVIORS, OUTDATED_INSTANCES_STRATEGIES } from '../domain/deployment-group.js';
import { DEPLOYMENT_STATUSES, ERROR_CODES, EVENT_STATUSES, INSTANCE_STATUSES } from '../domain/lifecycle.js';
import { DETAIL_TYPES, EVENT_SOURCES } from '../domain/state-events.js';
import { EXECUTION_MODES, EXECUTION_STATUSES, STAGE_STATUSES } from '../domain/pipeline.js';
import { TAG_FILTER_TYPES } from '../domain/tags.js';
import { TRIGGER_EVENTS } from '../domain/triggers.js';
import { schema } from '../domain/schema.js';
import { API_ERROR_CODES } from '../errors.js';

/**
 * What the API answers, as schemas: the response half of the HTTP contract
 * (lib/api/operations.ts). Each model is listed under the name the OpenAPI
 * document gives it (components/schemas). Handlers are typed against these, and
 * test/integration/openapi-responses.test.ts checks real answers against the
 * document, so a field sent but not written here fails a test.
 */
export interface ModelName {
  id: string;
  description: string;
}

/** Every named model, in the order declared. */
export const models: [z.ZodType, ModelName][] = [];

function model<S extends z.ZodType>(id: string, description: string, built: S): S {
  models.push([built, { id, description }]);
  return built;
}

const time = /* @__PURE__ */ schema(() => z.iso.datetime({ offset: true }).describe('ISO 8601 time'));

export const errorDetailSchema = /* @__PURE__ */ schema(() => model('ErrorDetail', 'One problem with the request, located by JSON path.', z.object({
  path: z.string().describe('JSON path of the offending value, e.g. $.targets.ec2TagSet[0][1].type'),
  message: z.string(),
  line: z.number().int().optional().describe('1-based line in a source document (appspec.yml)'),
  column: z.number().int().optional(),
})));

// Every error answer (lib/http/middleware/error-handler.ts); the document's error responses refer to it by name.
model('Error', 'Every error answer: a code clients switch on, a message naming the cause, and each problem found.', z.object({
  error: z.object({
    code: z.enum(API_ERROR_CODES).describe('What clients switch on; each status has its own codes (400 ValidationError or AppspecError, 404 NotFoundError, …)'),
    message: z.string(),
    details: z.array(errorDetailSchema).optional(),
    requestId: z.string().optional().describe('Internal errors (500) only: the request ID to quote when reporting it'),
  }),
}));

/** A page of a list: `nextToken` fetches the next one and is absent on the last. */
export const page = <S extends z.ZodType>(item: S) => z.object({ items: z.array(item), nextToken: z.string().optional() });

export const healthSchema = /* @__PURE__ */ schema(() => model('Health', 'The API answers.', z.object({ status: z.literal('ok') })));

export const clientConfigSchema = /* @__PURE__ */ schema(() => model('ClientConfig', 'What a client needs besides the API URL to deploy a bundle.', z.object({
  apiVersion: z.string(),
  artifactBucket: z.string(),
  region: z.string().nullable(),
  channelUrl: z.string().nullable().describe("The agents' control channel (WebSocket), when the stack has one"),
  s3Endpoint: z.string().optional().describe("Local mode only: the S3 emulator's endpoint"),
})));

export const openApiDocumentSchema = /* @__PURE__ */ schema(() => model('OpenApiDocument', 'This document (OpenAPI 3.1).', z.looseObject({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string(), description: z.string() }), paths: z.record(z.string(), z.unknown()) })));

const revisionSourceSchema = /* @__PURE__ */ schema(() => model('RevisionSource', 'An S3 bucket and key prefix revisions may come from.', z.object({ bucket: z.string(), prefix: z.string() })));

export const applicationSchema = /* @__PURE__ */ schema(() => model('Application', 'An application: a name its groups and deployments share.', z.object({
  name: z.string(),
  description: z.string(),
  revisionSources: z.array(revisionSourceSchema).optional().describe('Where its revisions may come from (absent on applications written before sources existed: the default applies)'),
  createdAt: time,
  updatedAt: time,
})));

const tagSchema = /* @__PURE__ */ schema(() => model('Tag', 'A tag on an instance.', z.object({ key: z.string(), value: z.string() })));
const tagFilterSchema = /* @__PURE__ */ schema(() => model('TagFilter', 'One filter of a tag group.', z.object({
  key: z.string().optional(),
  value: z.string().optional(),
  type: z.enum(TAG_FILTER_TYPES),
})));
const tagSetSchema = /* @__PURE__ */ schema(() => model('TagSet', 'Tag groups, AND-ed; the filters of one group are OR-ed.', z.array(z.array(tagFilterSchema))));

const deploymentConfigSchema = /* @__PURE__ */ schema(() => model('DeploymentConfig', 'A preset or a minimum number of healthy hosts.', z.union([
  z.enum(PRESET_CONFIGS),
  z.object({ minimumHealthyHosts: z.object({ type: z.enum(['HOST_COUNT', 'FLEET_PERCENT']), value: z.number().int() }) }),
])));

const triggerConfigurationSchema = /* @__PURE__ */ schema(() => model('TriggerConfiguration', "A CodeDeploy-style trigger: the group's events it notifies, published to an SNS topic.", z.object({
  triggerName: z.string(),
  triggerTargetArn: z.string().describe('The SNS topic, one the deploy parameter triggerTopicArns allows'),
  triggerEvents: z.array(z.enum(TRIGGER_EVENTS)),
})));

export const deploymentGroupSchema = /* @__PURE__ */ schema(() => model('DeploymentGroup', "A deployment group: an application's targets and how it deploys to them.", z.object({
  application: z.string(),
  name: z.string(),
  id: z.string().describe('Stable ID handed to hooks as DEPLOYMENT_GROUP_ID'),
  targets: z.object({
    ec2TagSet: tagSetSchema,
    onPremisesTagSet: tagSetSchema,
    region: z.string().optional(),
    targetRoleArn: z.string().optional(),
  }),
  deploymentConfig: deploymentConfigSchema,
  autoRollback: z.object({ enabled: z.boolean(), events: z.array(z.enum(ROLLBACK_EVENTS)) }),
  fileExistsBehavior: z.enum(FILE_EXISTS_BEHAVIORS),
  ignoreApplicationStopFailures: z.boolean(),
  hookRoleArn: z.string().nullable(),
  hookRoleSetBy: z.string().nullable().describe('Who set hookRoleArn; null without one'),
  busyBehavior: z.enum(BUSY_BEHAVIORS).describe('A deployment to the group while it is busy: refused (409) or queued'),
  outdatedInstancesStrategy: z.enum(OUTDATED_INSTANCES_STRATEGIES).describe('An instance that starts matching the group after its last success: UPDATE deploys that revision to it alone, IGNORE does nothing'),
  triggerConfigurations: z.array(triggerConfigurationSchema).describe("SNS notifications of the group's deployment and instance events, as CodeDeploy's triggers"),
  createdAt: time,
  updatedAt: time,
})));

export const agentStatusSchema = /* @__PURE__ */ schema(() => model('AgentStatus', "What an instance's agent last told the server.", z.object({
  version: z.string().nullable(),
  lastSeenAt: time.nullable(),
  online: z.boolean(),
  channel: z.enum(AGENT_CHANNELS),
  outdated: z.object({ minimumVersion: z.string() }).optional().describe("Set when the agent is older than the server's minimum version"),
})));

const instanceFields = /* @__PURE__ */ schema(() => ({
  instanceId: z.string(),
  tags: z.array(tagSchema),
  iamArn: z.string().nullable().describe("The principal the instance's agent signs with; only it may poll and report for the instance"),
  requestedTags: z.array(tagSchema).optional().describe('Tags its agent asked for when it registered itself: never applied'),
  registeredAt: time,
  updatedAt: time,
}));

export const registeredInstanceSchema = /* @__PURE__ */ schema(() => model('RegisteredInstance', 'An on-premises (or local) instance registered by name.', z.object(instanceFields)));

export const instanceSchema = /* @__PURE__ */ schema(() => model('Instance', 'A registered instance and what its agent last told the server.', z.object({ ...instanceFields, agent: agentStatusSchema })));

const revisionSchema = /* @__PURE__ */ schema(() => model('Revision', 'The S3 object a deployment installs.', z.object({
  bucket: z.string(),
  key: z.string(),
  version: z.string().optional(),
  eTag: z.string().optional(),
  bundleType: z.enum(BUNDLE_TYPES),
  size: z.number().int().optional(),
  sha256: z.string().optional(),
})));

const failureCauseSchema = /* @__PURE__ */ schema(() => model('FailureCause', 'Where a deployment first went wrong.', z.object({
  instanceId: z.string(),
  event: z.string().optional(),
  errorCode: z.string().optional(),
  exitCode: z.number().int().optional(),
  message: z.string().optional(),
})));

export const deploymentSchema = /* @__PURE__ */ schema(() => model('Deployment', 'A deployment of one revision to one group.', z.object({
  deploymentId: z.string(),
  application: z.string(),
  group: z.string(),
  groupId: z.string(),
  revision: revisionSchema,
  deploymentConfig: deploymentConfigSchema,
  minimumHealthyHosts: z.number().int(),
  fleetSize: z.number().int(),
  status: z.enum(DEPLOYMENT_STATUSES),
  counts: z.object({
    pending: z.number().int(),
    inProgress: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
    unknown: z.number().int(),
  }),
  fileExistsBehavior: z.enum(FILE_EXISTS_BEHAVIORS),
  ignoreApplicationStopFailures: z.boolean(),
  description: z.string(),
  creator: z.string(),
  createdAt: time,
  startedAt: time.optional(),
  completedAt: time.optional(),
  error: z.object({ code: z.string(), message: z.string(), cause: failureCauseSchema.optional() }).optional(),
  stopRequested: z.object({ at: time, by: z.string(), rollback: z.boolean() }).optional(),
  rollbackOf: z.string().optional(),
  redeployOf: z.string().optional(),
  retryOf: z.string().optional(),
  targetInstances: z.object({ instanceIds: z.array(z.string()) }).optional().describe('Exactly the instances deployed to, when the request named them'),
  catchUp: z.object({ instanceId: z.string(), revisionOf: z.string() }).optional()
    .describe("Set when Fleetline created it for an instance that started matching the group after its last success: the instance, and the deployment whose revision it gets"),
  queuedAt: time.optional().describe('When it was queued for its busy group'),
  dequeuedAt: time.optional().describe('When it left the queue and took the group'),
  rolledBackBy: z.string().optional(),
  hookRoleArn: z.string().nullable(),
  hookRoleSetBy: z.string().nullable().optional(),
  warnings: z.array(errorDetailSchema).optional().describe('What in the appspec CodeDeploy would skip or read otherwise than it looks'),
  pipelineAction: z.object({ executionId: z.string(), stageIndex: z.number().int(), actionIndex: z.number().int() }).optional(),
  endHandled: z.boolean().optional().describe('Engine bookkeeping: what follows its end has been done'),
  batchNumber: z.number().int().optional().describe('Engine bookkeeping: the last batch reserved'),
  openBatches: z.array(z.string()).optional().describe('Engine bookkeeping: reserved batches not yet dispatched'),
  freezeLease: z.object({ token: z.string(), until: time }).optional().describe('Engine bookkeeping: held while a worker freezes its targets'),
})));

export const deploymentCreatedSchema = /* @__PURE__ */ schema(() => model('DeploymentCreated', 'A deployment recorded (or found by its idempotency token).', z.object({
  deploymentId: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  redeployOf: z.string().optional().describe('POST /deployments/{id}/redeploy: the deployment deployed again'),
  retryOf: z.string().optional().describe('POST /deployments/{id}/retry: the deployment whose failed, skipped or lost instances it deploys to again'),
  targetInstances: z.object({ instanceIds: z.array(z.string()) }).optional().describe('POST /deployments/{id}/retry: exactly the instances it deploys to'),
})));

const eventSchema = /* @__PURE__ */ schema(() => model('LifecycleEventRecord', "One lifecycle event on one instance.", z.object({
  name: z.string(),
  status: z.enum(EVENT_STATUSES),
  startedAt: time.optional(),
  endedAt: time.optional(),
  exitCode: z.number().int().optional(),
  errorCode: z.enum(ERROR_CODES).optional(),
  message: z.string().optional(),
  outputTail: z.string().optional().describe("The last bytes of the hook's output"),
  deadline: time.optional(),
})));

const instanceDeploymentFields = /* @__PURE__ */ schema(() => ({
  deploymentId: z.string(),
  instanceId: z.string(),
  source: z.enum(['ec2', 'registered']),
  status: z.enum(INSTANCE_STATUSES),
  dispatchedAt: time.optional(),
  acknowledgedAt: time.optional(),
  leaseExpiresAt: time.optional(),
  endedAt: time.optional(),
  version: z.number().int(),
}));

export const instanceTargetSchema = /* @__PURE__ */ schema(() => model('InstanceTarget', "One instance of a deployment's list: its last event, and its agent while it waits on it.", z.object({
  ...instanceDeploymentFields,
  lastEvent: z.string().nullable(),
  agent: agentStatusSchema.optional(),
})));

export const instanceTargetDetailSchema = /* @__PURE__ */ schema(() => model('InstanceTargetDetail', 'One instance of a deployment with every event and a link to its full log.', z.object({
  ...instanceDeploymentFields,
  events: z.array(eventSchema),
  logUrl: z.string().nullable().describe('A presigned URL to the full hook log; null before the instance started'),
})));

const actionDefinitionSchema = /* @__PURE__ */ schema(() => model('PipelineAction', "A pipeline stage's action.", z.discriminatedUnion('type', [
  z.object({ type: z.literal('deploy'), name: z.string(), application: z.string(), group: z.string(), input: z.string().optional().describe("The build action whose output it deploys (by default the latest build of an earlier stage, else the source)") }),
  z.object({ type: z.literal('approval'), name: z.string(), timeoutMinutes: z.number().int() }),
  z.object({
    type: z.literal('build'),
    name: z.string(),
    project: z.string().describe('The CodeBuild project (locally: the name the built-in runner reports)'),
    environmentVariables: z.array(z.object({ name: z.string(), value: z.string(), type: z.enum(BUILD_VARIABLE_TYPES).optional() })).optional(),
    buildspec: z.string().optional().describe("A buildspec in place of the source's buildspec.yml"),
  }),
])));

const stageDefinitionSchema = /* @__PURE__ */ schema(() => model('PipelineStage', 'A pipeline stage.', z.object({ name: z.string(), actions: z.array(actionDefinitionSchema) })));

export const pipelineSchema = /* @__PURE__ */ schema(() => model('Pipeline', 'A pipeline: revisions uploaded under its source go through its stages.', z.object({
  name: z.string(),
  source: z.object({ bucket: z.string(), prefix: z.string(), suffix: z.string() }),
  executionMode: z.enum(EXECUTION_MODES),
  stages: z.array(stageDefinitionSchema),
  author: z.string().optional().describe("Whose authority its executions deploy with"),
  createdAt: time,
  updatedAt: time,
})));

const actionStateSchema = /* @__PURE__ */ schema(() => model('ActionState', "An execution's action.", z.object({
  name: z.string(),
  type: z.enum(['deploy', 'approval', 'build']),
  status: z.enum(STAGE_STATUSES),
  startedAt: time.optional(),
  endedAt: time.optional(),
  deploymentId: z.string().optional(),
  deadline: time.optional(),
  decision: z.object({ by: z.string(), approved: z.boolean(), comment: z.string(), at: time }).optional(),
  error: z.string().optional(),
  waitingForGroup: z.boolean().optional(),
  attempt: z.number().int().optional(),
  buildId: z.string().optional().describe('Build actions: the build of this attempt'),
  output: z.object({ bucket: z.string(), key: z.string(), version: z.string().optional(), eTag: z.string().optional() }).optional()
    .describe("Build actions: the output artifact, deployable by this execution's deploy actions alone"),
  logLink: z.string().optional().describe("Build actions: the build's full log"),
  input: z.string().optional().describe('Deploy actions: the build action whose output they deploy (absent: the source)'),
})));

const stageStateSchema = /* @__PURE__ */ schema(() => model('StageState', "An execution's stage.", z.object({
  name: z.string(),
  status: z.enum(STAGE_STATUSES),
  startedAt: time.optional(),
  endedAt: time.optional(),
  actions: z.array(actionStateSchema),
})));

export const executionSchema = /* @__PURE__ */ schema(() => model('Execution', "One revision's way through a pipeline.", z.object({
  executionId: z.string(),
  pipeline: z.string(),
  definition: z.array(stageDefinitionSchema).describe("The pipeline's stages when it started"),
  revision: z.object({
    bucket: z.string(),
    key: z.string(),
    version: z.string().optional(),
    eTag: z.string().optional(),
    size: z.number().int().optional(),
    sequencer: z.string().optional(),
    uploader: z.string().optional(),
  }),
  trigger: z.object({ type: z.enum(['S3', 'Manual']), by: z.string() }),
  authority: z.string().optional(),
  status: z.enum(EXECUTION_STATUSES),
  stageIndex: z.number().int(),
  waiting: z.boolean(),
  stages: z.array(stageStateSchema),
  createdAt: time,
  updatedAt: time,
  endedAt: time.optional(),
  error: z.string().optional(),
  stoppedBy: z.string().optional(),
  preflight: z.object({ ok: z.boolean(), problems: z.array(z.object({ path: z.string(), message: z.string() })) }).optional(),
  version: z.number().int(),
})));

export const executionStartedSchema = /* @__PURE__ */ schema(() => model('ExecutionStarted', 'A manual execution started.', z.object({
  executionId: z.string(),
  status: z.enum(EXECUTION_STATUSES),
})));

export const accessRuleSchema = /* @__PURE__ */ schema(() => model('AccessRule', 'An access rule: allows or denies actions on resources to principals.', z.object({
  id: z.string(),
  effect: z.enum(['Allow', 'Deny']),
  principals: z.array(z.string()),
  actions: z.array(z.string()),
  resources: z.array(z.string()),
  maxSessionSeconds: z.number().int().optional(),
  externalId: z.string().optional(),
  description: z.string().optional(),
})));

export const issuedCredentialsSchema = /* @__PURE__ */ schema(() => model('IssuedCredentials', 'Temporary credentials for a role.', z.object({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
  expiration: time,
  assumedRoleArn: z.string(),
})));

export const credentialAuditEntrySchema = /* @__PURE__ */ schema(() => model('CredentialAuditEntry', 'One issue of credentials.', z.object({
  id: z.string(),
  caller: z.string(),
  roleArn: z.string(),
  sessionName: z.string(),
  issuedAt: time,
  expiration: time,
  sourceIp: z.string().optional(),
  durationSeconds: z.number().int(),
  configuredBy: z.string().optional().describe("Hook credentials: who set the group's hookRoleArn"),
  deploymentId: z.string().optional(),
  instanceId: z.string().optional(),
})));

const codedeployDetailSchema = /* @__PURE__ */ schema(() => model('CodeDeployEventDetail', "CodeDeploy's detail fields: a deployment's, or (with instanceId) an instance's state change.", z.object({
  instanceGroupId: z.string(),
  region: z.string(),
  application: z.string(),
  deploymentId: z.string(),
  state: z.string().describe('START, SUCCESS, FAILURE or STOP'),
  deploymentGroup: z.string(),
  instanceId: z.string().optional().describe("Instance events only"),
})));

const codepipelineDetailSchema = /* @__PURE__ */ schema(() => model('CodePipelineEventDetail', "CodePipeline's detail fields: an execution's, a stage's (with stage) or an action's (with stage, action, region and type) state change.", z.object({
  pipeline: z.string(),
  version: z.number().int(),
  'execution-id': z.string(),
  state: z.string().describe('STARTED, RESUMED, SUCCEEDED, FAILED, STOPPED, SUPERSEDED or ABANDONED'),
  stage: z.string().optional(),
  action: z.string().optional(),
  region: z.string().optional(),
  type: z.object({ owner: z.string(), category: z.string(), provider: z.string(), version: z.string() }).optional(),
})));

export const fleetEventSchema = /* @__PURE__ */ schema(() => model('Event', "A state change in the shape CodeDeploy or CodePipeline sends to EventBridge (envelope, detail-type and detail fields).", z.object({
  version: z.literal('0'),
  id: z.string().describe('Fixed by the change: the same change seen again is the same event'),
  'detail-type': z.enum(DETAIL_TYPES),
  source: z.enum([EVENT_SOURCES.codedeploy, EVENT_SOURCES.codepipeline]),
  account: z.string(),
  time: z.iso.datetime().describe('ISO 8601 time to the second, as AWS gives it'),
  region: z.string(),
  resources: z.array(z.string()).describe('ARNs of the application and deployment group, or of the pipeline'),
  detail: z.union([codedeployDetailSchema, codepipelineDetailSchema]),
})));
