import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Deployment, InstanceDeployment } from './deployment.js';
import { globMatch } from './glob.js';
import { schema } from './schema.js';
import type { CodeDeployDetail, FleetEvent } from './state-events.js';

/**
 * A deployment group's SNS triggers, in CodeDeploy's shape and with its event names
 * (README, Triggers). Pure: which triggers an event fires, and the notification each sends.
 */
export const TRIGGER_EVENTS = [
  'DeploymentStart',
  'DeploymentSuccess',
  'DeploymentFailure',
  'DeploymentStop',
  'DeploymentRollback',
  'DeploymentReady',
  'InstanceStart',
  'InstanceSuccess',
  'InstanceFailure',
  'InstanceReady',
] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

/** CodeDeploy takes at most 10 triggers a deployment group. */
export const MAX_TRIGGERS = 10;

export interface TriggerConfiguration {
  triggerName: string;
  triggerTargetArn: string;
  triggerEvents: TriggerEvent[];
}

/** An SNS topic ARN: partition, region, 12-digit account, topic name (a FIFO topic's ends in .fifo). */
export const TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$/;

const triggerSchema = /* @__PURE__ */ schema(() =>
  z.strictObject({
    triggerName: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    triggerTargetArn: z.string({ error: 'must be a string' }).regex(TOPIC_ARN_PATTERN, 'must be an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)'),
    triggerEvents: z
      .array(z.enum(TRIGGER_EVENTS, { error: `must be one of ${TRIGGER_EVENTS.join(', ')}` }), { error: 'must be a list of event names' })
      .min(1, 'must name at least one event')
      .refine((events) => new Set(events).size === events.length, 'must not repeat an event'),
  }),
);

export const triggerConfigurationsSchema = /* @__PURE__ */ schema(() =>
  z
    .array(triggerSchema, { error: 'must be a list of triggers' })
    .max(MAX_TRIGGERS, `must hold at most ${MAX_TRIGGERS} triggers (CodeDeploy's limit)`)
    .superRefine((triggers, ctx) => {
      const seen = new Set<string>();
      triggers.forEach((trigger, i) => {
        if (seen.has(trigger.triggerName)) ctx.addIssue({ code: 'custom', path: [i, 'triggerName'], message: `must be unique: ${trigger.triggerName} is named twice` });
        seen.add(trigger.triggerName);
      });
    }),
);

/** The topics no pattern of the allowed list (deploy parameter triggerTopicArns, `*` for any run of characters) covers. */
export function topicsOutside(triggers: readonly TriggerConfiguration[], allowed: readonly string[]): { index: number; arn: string }[] {
  return triggers.flatMap((trigger, index) => (allowed.some((pattern) => globMatch(pattern, trigger.triggerTargetArn)) ? [] : [{ index, arn: trigger.triggerTargetArn }]));
}

const DEPLOYMENT_TRIGGERS: Record<string, TriggerEvent> = {
  START: 'DeploymentStart',
  SUCCESS: 'DeploymentSuccess',
  FAILURE: 'DeploymentFailure',
  STOP: 'DeploymentStop',
};
const INSTANCE_TRIGGERS: Record<string, TriggerEvent> = { START: 'InstanceStart', SUCCESS: 'InstanceSuccess', FAILURE: 'InstanceFailure' };

/** The CodeDeploy event's detail, when it is one (pipeline events fire no trigger). */
export function codeDeployDetail(event: FleetEvent): CodeDeployDetail | undefined {
  return 'deploymentId' in event.detail ? event.detail : undefined;
}

/**
 * The trigger events an event is: a deployment's or an instance's state, and a rollback
 * deployment's start is DeploymentRollback too. Fleetline runs no blue/green deployment, so
 * DeploymentReady and InstanceReady are accepted and never sent.
 */
export function triggerEventsOf(event: FleetEvent, deployment?: Pick<Deployment, 'rollbackOf'>): TriggerEvent[] {
  const detail = codeDeployDetail(event);
  if (!detail) return [];
  if (detail.instanceId !== undefined) {
    const name = INSTANCE_TRIGGERS[detail.state];
    return name ? [name] : [];
  }
  const name = DEPLOYMENT_TRIGGERS[detail.state];
  if (!name) return [];
  return name === 'DeploymentStart' && deployment?.rollbackOf ? [name, 'DeploymentRollback'] : [name];
}

/** A notification published to one trigger's topic. */
export interface TriggerNotification {
  topicArn: string;
  subject: string;
  message: string;
  /** Fixed by the event and the trigger: a FIFO topic drops the same notification published twice. */
  deduplicationId: string;
  /** A FIFO topic keeps each deployment's notifications in order. */
  groupId: string;
}

/** CodeDeploy's times in trigger messages: seconds since the epoch, to the millisecond, as a string. */
const epochSeconds = (iso: string | undefined) => (iso ? (Date.parse(iso) / 1000).toFixed(3) : null);

/** The statuses a trigger message names, by the event's state (the state the event fixed, whatever the record says now). */
const STATUS_OF: Record<string, string> = { START: 'InProgress', SUCCESS: 'Succeeded', FAILURE: 'Failed', STOP: 'Stopped' };
const SUBJECT_STATUS: Record<string, string> = { START: 'CREATED', SUCCESS: 'SUCCEEDED', FAILURE: 'FAILED', STOP: 'STOPPED' };

/** SNS takes a subject of at most 100 characters. */
const subjectOf = (text: string) => (text.length > 100 ? `${text.slice(0, 99)}…` : text);

function deploymentMessage(trigger: TriggerConfiguration, event: FleetEvent, detail: CodeDeployDetail, deployment: Deployment) {
  const counts = deployment.counts;
  return {
    region: event.region,
    accountId: event.account,
    eventTriggerName: trigger.triggerName,
    applicationName: deployment.application,
    deploymentId: deployment.deploymentId,
    deploymentGroupName: deployment.group,
    createTime: epochSeconds(deployment.createdAt),
    completeTime: epochSeconds(deployment.completedAt),
    // CodeDeploy counts an instance that lost its agent as failed.
    deploymentOverview: {
      Failed: String(counts.failed + counts.unknown),
      InProgress: String(counts.inProgress),
      Pending: String(counts.pending),
      Skipped: String(counts.skipped),
      Succeeded: String(counts.succeeded),
    },
    status: STATUS_OF[detail.state] ?? detail.state,
    ...(deployment.error && detail.state !== 'START' && detail.state !== 'SUCCESS'
      ? { errorInformation: { ErrorCode: deployment.error.code, ErrorMessage: deployment.error.message } }
      : {}),
    ...(deployment.rollbackOf ? { rollbackInformation: { RollbackDeploymentId: deployment.deploymentId, RollbackTriggeringDeploymentId: deployment.rollbackOf } } : {}),
  };
}

function instanceMessage(trigger: TriggerConfiguration, event: FleetEvent, detail: CodeDeployDetail, instance: InstanceDeployment | undefined) {
  // The instance's ARN as the event's resources give it (EC2's, or a registered instance's).
  const instanceArn = event.resources.find((arn) => arn.endsWith(`:instance/${detail.instanceId}`)) ?? detail.instanceId;
  return {
    region: event.region,
    accountId: event.account,
    eventTriggerName: trigger.triggerName,
    deploymentId: detail.deploymentId,
    instanceId: instanceArn,
    lastUpdatedAt: epochSeconds(event.time),
    instanceStatus: STATUS_OF[detail.state] ?? detail.state,
    lifecycleEvents: (instance?.events ?? []).map((e) => ({
      LifecycleEvent: e.name,
      LifecycleEventStatus: e.status,
      StartTime: epochSeconds(e.startedAt),
      EndTime: epochSeconds(e.endedAt),
    })),
  };
}

/**
 * The notifications an event sends: one to each of the group's triggers that chose one of
 * its trigger events, each shaped as CodeDeploy's trigger messages (its JSON fields, and a
 * subject such as "FAILED: AWS CodeDeploy d-… in <region> to <application>").
 */
export function triggerNotifications(
  event: FleetEvent,
  triggers: readonly TriggerConfiguration[],
  deployment: Deployment,
  instance?: InstanceDeployment,
): TriggerNotification[] {
  const detail = codeDeployDetail(event);
  if (!detail) return [];
  const names = triggerEventsOf(event, deployment);
  const isInstance = detail.instanceId !== undefined;
  const label = names.includes('DeploymentRollback') ? 'ROLLBACK' : (SUBJECT_STATUS[detail.state] ?? detail.state);
  const subject = subjectOf(
    `${label}: AWS CodeDeploy ${detail.deploymentId} in ${event.region} to ${detail.application}${isInstance ? `, instance ${detail.instanceId}` : ''}`,
  );
  return triggers
    .filter((trigger) => trigger.triggerEvents.some((name) => names.includes(name)))
    .map((trigger) => ({
      topicArn: trigger.triggerTargetArn,
      subject,
      message: JSON.stringify(isInstance ? instanceMessage(trigger, event, detail, instance) : deploymentMessage(trigger, event, detail, deployment)),
      deduplicationId: createHash('sha256').update(`${event.id}/${trigger.triggerName}`).digest('hex'),
      groupId: detail.deploymentId,
    }));
}
