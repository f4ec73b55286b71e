import { z } from 'zod';
import { accessRuleBodySchema } from '../domain/access.js';
import {
  heartbeatAnswerSchema,
  pollAnswerSchema,
  pollRequestSchema,
  registerAnswerSchema,
  registerRequestSchema,
  reportAnswerSchema,
  reportRequestSchema,
} from '../domain/agent-wire.js';
import { applicationBodySchema } from '../domain/application.js';
import { credentialsBodySchema } from '../domain/credentials.js';
import { deploymentGroupBodySchema } from '../domain/deployment-group.js';
import { DEPLOYMENT_ID_PATTERN, createDeploymentBodySchema, redeployBodySchema, retryBodySchema, revisionSchema } from '../domain/deployment.js';
import { EXECUTION_ID_PATTERN } from '../domain/execution-id.js';
import { instanceBodySchema } from '../domain/instance.js';
import { liveChunkAnswerSchema, liveChunkRequestSchema, liveLogAnswerSchema, liveLogQuerySchema } from '../domain/live-log.js';
import { DEPLOYMENT_STATUSES } from '../domain/lifecycle.js';
import { nameSchema } from '../domain/names.js';
import { pipelineBodySchema } from '../domain/pipeline.js';
import { DETAIL_TYPES, EVENT_TYPES, type EventKind, eventTime } from '../domain/state-events.js';
import { schema } from '../domain/schema.js';
import { operation } from '../http/operation.js';
import {
  accessRuleSchema,
  applicationSchema,
  clientConfigSchema,
  credentialAuditEntrySchema,
  deploymentCreatedSchema,
  deploymentGroupSchema,
  deploymentSchema,
  executionSchema,
  executionStartedSchema,
  fleetEventSchema,
  healthSchema,
  instanceSchema,
  instanceTargetDetailSchema,
  instanceTargetSchema,
  issuedCredentialsSchema,
  openApiDocumentSchema,
  page,
  pipelineSchema,
  registeredInstanceSchema,
} from './responses.js';
import { appParams, groupParams, instanceParams, pageQuerySchema } from './schemas.js';

/**
 * The HTTP contract: every operation of the API with its inputs and answers.
 * The routes (lib/api/*-routes.ts) serve these, docs/openapi.json is generated
 * from them (npm run openapi), and the CLI's client is typed by them.
 */

const ruleParams = /* @__PURE__ */ schema(() => z.strictObject({ id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 characters from A-Z a-z 0-9 . _ -') }));
const deploymentParams = /* @__PURE__ */ schema(() => z.strictObject({ id: z.string().regex(DEPLOYMENT_ID_PATTERN, 'must be a deployment ID (d-XXXXXXXXX)') }));
const deploymentInstanceParams = /* @__PURE__ */ schema(() => deploymentParams.extend({ instanceId: nameSchema }));
const pipelineParams = /* @__PURE__ */ schema(() => z.strictObject({ name: nameSchema }));
const executionParams = /* @__PURE__ */ schema(() => z.strictObject({ id: z.string().regex(EXECUTION_ID_PATTERN, 'must be an execution ID (e-…)') }));
const commentBody = /* @__PURE__ */ schema(() =>
  z.strictObject({ comment: z.string().max(1024, 'must be at most 1024 characters').default('') }).default({ comment: '' }));
const deploymentListQuery = /* @__PURE__ */ schema(() => pageQuerySchema
  .extend({
    application: nameSchema.optional(),
    group: nameSchema.optional(),
    status: z.enum(DEPLOYMENT_STATUSES, { error: `must be one of ${DEPLOYMENT_STATUSES.join(', ')}` }).optional(),
  })
  .refine((q) => q.group === undefined || q.application !== undefined, {
    path: ['group'],
    message: 'needs application too: a group name is unique only within its application',
  }));

const EVENT_KINDS = Object.keys(EVENT_TYPES) as EventKind[];
const eventListQuery = /* @__PURE__ */ schema(() => pageQuerySchema.extend({
  since: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-06-30T22:06:31Z' })
    .transform((since) => eventTime(Date.parse(since)))
    .optional(),
  type: z
    .string()
    .transform((type) => (EVENT_KINDS.includes(type as EventKind) ? EVENT_TYPES[type as EventKind] : type))
    .pipe(z.enum(DETAIL_TYPES, { error: `must be one of ${EVENT_KINDS.join(', ')} or a detail-type (${DETAIL_TYPES.join(', ')})` }))
    .optional(),
  application: nameSchema.optional(),
}));

const both = <S extends z.ZodType>(s: S) => ({ 200: s, 201: s }) as const;

export const operations = {
  getHealth: operation({
    operationId: 'getHealth', method: 'GET', path: '/health', tag: 'Service', static: true,
    summary: 'Whether the API answers (unsigned)',
    responses: { 200: healthSchema },
  }),
  getOpenApi: operation({
    operationId: 'getOpenApi', method: 'GET', path: '/openapi.json', tag: 'Service', static: true,
    summary: 'This document',
    description: 'Any caller the API authenticates (a signed request) may read it: it describes the API and holds no data, so no access rule is consulted.',
    responses: { 200: openApiDocumentSchema },
  }),
  getConfig: operation({
    operationId: 'getConfig', method: 'GET', path: '/config', tag: 'Service',
    summary: 'What a client needs besides the API URL (for callers who may create some deployment)',
    responses: { 200: clientConfigSchema },
  }),

  putApplication: operation({
    operationId: 'putApplication', method: 'PUT', path: '/applications/{app}', tag: 'Applications',
    summary: 'Create or update an application',
    params: appParams, body: applicationBodySchema,
    responses: both(applicationSchema),
  }),
  listApplications: operation({
    operationId: 'listApplications', method: 'GET', path: '/applications', tag: 'Applications',
    summary: 'List the applications the caller may see',
    query: pageQuerySchema,
    responses: { 200: page(applicationSchema) },
  }),
  getApplication: operation({
    operationId: 'getApplication', method: 'GET', path: '/applications/{app}', tag: 'Applications',
    summary: 'Get an application, with the revision sources in effect',
    params: appParams,
    responses: { 200: applicationSchema },
  }),
  deleteApplication: operation({
    operationId: 'deleteApplication', method: 'DELETE', path: '/applications/{app}', tag: 'Applications',
    summary: 'Delete an application with no deployment groups left (else 409)',
    params: appParams,
    responses: { 204: null }, errors: [409],
  }),

  putGroup: operation({
    operationId: 'putGroup', method: 'PUT', path: '/applications/{app}/groups/{group}', tag: 'Deployment groups',
    summary: 'Create or update a deployment group',
    description: 'Setting hookRoleArn needs credentials:issue on the role; a role outside the roles Fleetline may assume is refused (422).',
    params: groupParams, body: deploymentGroupBodySchema,
    responses: both(deploymentGroupSchema), errors: [422],
  }),
  listGroups: operation({
    operationId: 'listGroups', method: 'GET', path: '/applications/{app}/groups', tag: 'Deployment groups',
    summary: "List an application's deployment groups the caller may see",
    params: appParams, query: pageQuerySchema,
    responses: { 200: page(deploymentGroupSchema) },
  }),
  getGroup: operation({
    operationId: 'getGroup', method: 'GET', path: '/applications/{app}/groups/{group}', tag: 'Deployment groups',
    summary: 'Get a deployment group',
    params: groupParams,
    responses: { 200: deploymentGroupSchema },
  }),
  deleteGroup: operation({
    operationId: 'deleteGroup', method: 'DELETE', path: '/applications/{app}/groups/{group}', tag: 'Deployment groups',
    summary: 'Delete a deployment group without an active deployment (else 409)',
    params: groupParams,
    responses: { 204: null }, errors: [409],
  }),

  putInstance: operation({
    operationId: 'putInstance', method: 'PUT', path: '/instances/{instanceId}', tag: 'Instances',
    summary: "Register an instance or change its tags or binding (a field left out keeps its value)",
    description: 'Setting iamArn (which principal may act as its agent) is for administrators only.',
    params: instanceParams, body: instanceBodySchema,
    responses: both(registeredInstanceSchema), errors: [422],
  }),
  listInstances: operation({
    operationId: 'listInstances', method: 'GET', path: '/instances', tag: 'Instances',
    summary: 'List the registered instances the caller may see, with their agents',
    query: pageQuerySchema,
    responses: { 200: page(instanceSchema) },
  }),
  getInstance: operation({
    operationId: 'getInstance', method: 'GET', path: '/instances/{instanceId}', tag: 'Instances',
    summary: 'Get a registered instance and its agent',
    params: instanceParams,
    responses: { 200: instanceSchema },
  }),
  deleteInstance: operation({
    operationId: 'deleteInstance', method: 'DELETE', path: '/instances/{instanceId}', tag: 'Instances',
    summary: 'Deregister an instance',
    params: instanceParams,
    responses: { 204: null },
  }),

  createDeployment: operation({
    operationId: 'createDeployment', method: 'POST', path: '/deployments', tag: 'Deployments',
    summary: 'Deploy a revision to a group',
    description: 'The object must exist and hold a valid appspec.yml (else 422); a group with an active deployment answers 409. A retry with the same idempotencyToken answers 200 with the deployment it created.',
    body: createDeploymentBodySchema,
    responses: both(deploymentCreatedSchema), errors: [404, 409, 422, 502],
  }),
  redeployDeployment: operation({
    operationId: 'redeployDeployment', method: 'POST', path: '/deployments/{id}/redeploy', tag: 'Deployments',
    summary: "Deploy a deployment's exact revision to its group again",
    params: deploymentParams, body: redeployBodySchema,
    responses: both(deploymentCreatedSchema), errors: [409, 422, 502],
  }),
  retryDeployment: operation({
    operationId: 'retryDeployment', method: 'POST', path: '/deployments/{id}/retry', tag: 'Deployments',
    summary: "Deploy an ended deployment's revision again to the instances it did not deploy to (failed, skipped or lost)",
    params: deploymentParams, body: retryBodySchema,
    responses: both(deploymentCreatedSchema), errors: [409, 422, 502],
  }),
  listDeployments: operation({
    operationId: 'listDeployments', method: 'GET', path: '/deployments', tag: 'Deployments',
    summary: 'List deployments the caller may see, newest first',
    description: 'Filtered by application (and group) or status; an application or group that does not exist answers 404.',
    query: deploymentListQuery,
    responses: { 200: page(deploymentSchema) }, errors: [404],
  }),
  getDeployment: operation({
    operationId: 'getDeployment', method: 'GET', path: '/deployments/{id}', tag: 'Deployments',
    summary: 'Get a deployment',
    params: deploymentParams,
    responses: { 200: deploymentSchema },
  }),
  listDeploymentInstances: operation({
    operationId: 'listDeploymentInstances', method: 'GET', path: '/deployments/{id}/instances', tag: 'Deployments',
    summary: "List a deployment's instances",
    params: deploymentParams, query: pageQuerySchema,
    responses: { 200: page(instanceTargetSchema) },
  }),
  getDeploymentInstance: operation({
    operationId: 'getDeploymentInstance', method: 'GET', path: '/deployments/{id}/instances/{instanceId}', tag: 'Deployments',
    summary: "Get one instance of a deployment: its events, their output and its log's URL",
    params: deploymentInstanceParams,
    responses: { 200: instanceTargetDetailSchema },
  }),
  getDeploymentInstanceLog: operation({
    operationId: 'getDeploymentInstanceLog', method: 'GET', path: '/deployments/{id}/instances/{instanceId}/log', tag: 'Deployments',
    summary: "Read a running instance's hook output from a cursor (follow=true asks its agent to stream it)",
    description: 'See docs/live-logs.md: a follower reads chunks after its cursor; with follow=true the read holds a lease that has the agent send its output while someone follows.',
    params: deploymentInstanceParams, query: liveLogQuerySchema,
    responses: { 200: liveLogAnswerSchema },
  }),
  stopDeployment: operation({
    operationId: 'stopDeployment', method: 'POST', path: '/deployments/{id}/stop', tag: 'Deployments',
    summary: 'Ask a deployment to stop (and roll back, if asked or the group says so)',
    params: deploymentParams,
    body: /* @__PURE__ */ schema(() => z.strictObject({ rollback: z.boolean({ error: 'must be true or false' }).optional() }).default({})),
    responses: { 202: deploymentSchema }, errors: [409],
  }),

  putPipeline: operation({
    operationId: 'putPipeline', method: 'PUT', path: '/pipelines/{name}', tag: 'Pipelines',
    summary: 'Create or update a pipeline',
    description: 'Its author needs deployments:create on every group it deploys to; each group must exist and take revisions from its source (else 422).',
    params: pipelineParams, body: pipelineBodySchema,
    responses: both(pipelineSchema), errors: [422],
  }),
  listPipelines: operation({
    operationId: 'listPipelines', method: 'GET', path: '/pipelines', tag: 'Pipelines',
    summary: 'List the pipelines the caller may see',
    query: pageQuerySchema,
    responses: { 200: page(pipelineSchema) },
  }),
  getPipeline: operation({
    operationId: 'getPipeline', method: 'GET', path: '/pipelines/{name}', tag: 'Pipelines',
    summary: 'Get a pipeline',
    params: pipelineParams,
    responses: { 200: pipelineSchema },
  }),
  deletePipeline: operation({
    operationId: 'deletePipeline', method: 'DELETE', path: '/pipelines/{name}', tag: 'Pipelines',
    summary: 'Delete a pipeline with no execution in progress',
    params: pipelineParams,
    responses: { 204: null }, errors: [409],
  }),
  startExecution: operation({
    operationId: 'startExecution', method: 'POST', path: '/pipelines/{name}/executions', tag: 'Pipelines',
    summary: 'Start an execution of a revision inside the pipeline\'s source',
    params: pipelineParams,
    body: /* @__PURE__ */ schema(() => z.strictObject({ revision: revisionSchema.omit({ bundleType: true }) })),
    responses: { 201: executionStartedSchema }, errors: [422],
  }),
  listExecutions: operation({
    operationId: 'listExecutions', method: 'GET', path: '/pipelines/{name}/executions', tag: 'Pipelines',
    summary: "List a pipeline's executions, newest first",
    params: pipelineParams, query: pageQuerySchema,
    responses: { 200: page(executionSchema) },
  }),
  getExecution: operation({
    operationId: 'getExecution', method: 'GET', path: '/executions/{id}', tag: 'Pipelines',
    summary: 'Get an execution',
    params: executionParams,
    responses: { 200: executionSchema },
  }),
  approveExecution: operation({
    operationId: 'approveExecution', method: 'POST', path: '/executions/{id}/approve', tag: 'Pipelines',
    summary: 'Approve the approval an execution waits on',
    params: executionParams, body: commentBody,
    responses: { 200: executionSchema }, errors: [409],
  }),
  rejectExecution: operation({
    operationId: 'rejectExecution', method: 'POST', path: '/executions/{id}/reject', tag: 'Pipelines',
    summary: 'Reject the approval an execution waits on',
    params: executionParams, body: commentBody,
    responses: { 200: executionSchema }, errors: [409],
  }),
  stopExecution: operation({
    operationId: 'stopExecution', method: 'POST', path: '/executions/{id}/stop', tag: 'Pipelines',
    summary: 'Stop an execution (and the deployment it runs)',
    params: executionParams,
    responses: { 200: executionSchema }, errors: [409],
  }),
  retryExecution: operation({
    operationId: 'retryExecution', method: 'POST', path: '/executions/{id}/retry', tag: 'Pipelines',
    summary: 'Retry a failed execution where it failed',
    params: executionParams,
    responses: { 200: executionSchema }, errors: [409],
  }),

  listEvents: operation({
    operationId: 'listEvents', method: 'GET', path: '/events', tag: 'Events',
    summary: 'List the event feed, oldest first',
    description: "State changes of deployments, instances, pipeline executions, stages and actions in CodeDeploy's and CodePipeline's EventBridge shapes. since: an ISO time; type: deployment, instance, execution, stage, action or a full detail-type; application: only that application's CodeDeploy events. Each event is shown only to a caller allowed events:list on its group or pipeline.",
    query: eventListQuery,
    responses: { 200: page(fleetEventSchema) },
  }),
  putAccessRule: operation({
    operationId: 'putAccessRule', method: 'PUT', path: '/access-rules/{id}', tag: 'Access rules',
    summary: 'Create or replace an access rule (administrators only)',
    params: ruleParams, body: accessRuleBodySchema,
    responses: both(accessRuleSchema),
  }),
  listAccessRules: operation({
    operationId: 'listAccessRules', method: 'GET', path: '/access-rules', tag: 'Access rules',
    summary: 'List the access rules (administrators only)',
    responses: { 200: z.object({ items: z.array(accessRuleSchema) }) },
  }),
  getAccessRule: operation({
    operationId: 'getAccessRule', method: 'GET', path: '/access-rules/{id}', tag: 'Access rules',
    summary: 'Get an access rule (administrators only)',
    params: ruleParams,
    responses: { 200: accessRuleSchema },
  }),
  deleteAccessRule: operation({
    operationId: 'deleteAccessRule', method: 'DELETE', path: '/access-rules/{id}', tag: 'Access rules',
    summary: 'Delete an access rule (administrators only)',
    params: ruleParams,
    responses: { 204: null },
  }),

  issueCredentials: operation({
    operationId: 'issueCredentials', method: 'POST', path: '/credentials', tag: 'Credentials',
    summary: 'Temporary credentials for a role an access rule grants the caller',
    body: credentialsBodySchema,
    responses: { 200: issuedCredentialsSchema }, errors: [422, 502, 503],
  }),
  listCredentialAudit: operation({
    operationId: 'listCredentialAudit', method: 'GET', path: '/credentials/audit', tag: 'Credentials',
    summary: 'Every issue of credentials, newest first',
    query: pageQuerySchema,
    responses: { 200: page(credentialAuditEntrySchema) },
  }),

  agentPoll: operation({
    operationId: 'agentPoll', method: 'POST', path: '/agent/v1/poll', tag: 'Agent',
    summary: "An agent asks for its instance's work (or, with heartbeat, renews its lease)",
    body: pollRequestSchema,
    responses: { 200: /* @__PURE__ */ schema(() => z.union([pollAnswerSchema, heartbeatAnswerSchema])) }, errors: [404, 409, 502, 503],
  }),
  agentReport: operation({
    operationId: 'agentReport', method: 'POST', path: '/agent/v1/report', tag: 'Agent',
    summary: 'An agent reports lifecycle events of its instance',
    body: reportRequestSchema,
    responses: { 200: reportAnswerSchema }, errors: [404, 409],
  }),
  agentLog: operation({
    operationId: 'agentLog', method: 'POST', path: '/agent/v1/log', tag: 'Agent',
    summary: "An agent sends a chunk of its running hook's output, only while someone follows it",
    body: liveChunkRequestSchema,
    responses: { 200: liveChunkAnswerSchema }, errors: [404, 409],
  }),
  agentRegister: operation({
    operationId: 'agentRegister', method: 'POST', path: '/agent/v1/register', tag: 'Agent',
    summary: 'An agent registers its on-premises instance (its tags are only requested)',
    body: registerRequestSchema,
    responses: both(registerAnswerSchema), errors: [422],
  }),
};

export type Operations = typeof operations;
export type OperationId = keyof Operations;
