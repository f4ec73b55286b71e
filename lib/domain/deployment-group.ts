import { z } from 'zod';
import { type DeploymentConfig, deploymentConfigSchema, resolveDeploymentConfig } from './deployment-config.js';
import { regionSchema, roleArnSchema } from './names.js';
import { type TagSet, tagSetSchema } from './tags.js';
import { schema } from './schema.js';

import { type FileExistsBehavior, fileExistsBehaviorSchema } from './file-exists-behavior.js';
import { type TriggerConfiguration, triggerConfigurationsSchema } from './triggers.js';

export const ROLLBACK_EVENTS = ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] as const;
export type RollbackEvent = (typeof ROLLBACK_EVENTS)[number];

export interface Targets {
  ec2TagSet: TagSet;
  onPremisesTagSet: TagSet;
  region?: string | undefined;
  targetRoleArn?: string | undefined;
}

/** What POST /deployments does while the group has an active deployment: refuse (409, CodeDeploy's way) or queue it. */
export const BUSY_BEHAVIORS = ['REJECT', 'QUEUE'] as const;
export type BusyBehavior = (typeof BUSY_BEHAVIORS)[number];

/**
 * What happens to an instance that starts matching the group after its last successful deployment
 * (CodeDeploy's outdatedInstancesStrategy): UPDATE deploys that revision to it alone, IGNORE leaves it be.
 */
export const OUTDATED_INSTANCES_STRATEGIES = ['UPDATE', 'IGNORE'] as const;
export type OutdatedInstancesStrategy = (typeof OUTDATED_INSTANCES_STRATEGIES)[number];

export interface AutoRollback {
  enabled: boolean;
  events: RollbackEvent[];
}

/** What a client may set on a deployment group. */
export interface DeploymentGroupSettings {
  targets: Targets;
  deploymentConfig: DeploymentConfig;
  autoRollback: AutoRollback;
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  hookRoleArn: string | null;
  busyBehavior: BusyBehavior;
  outdatedInstancesStrategy: OutdatedInstancesStrategy;
  /** SNS notifications of the group's deployment and instance events, as CodeDeploy's triggers (lib/domain/triggers.ts). */
  triggerConfigurations: TriggerConfiguration[];
}

/** What a write stores: the client's settings and who set the hook role (credential audit entries name them). */
export interface StoredGroupSettings extends DeploymentGroupSettings {
  /** The caller whose PUT set hookRoleArn, holding credentials:issue on it; null without a hook role. */
  hookRoleSetBy: string | null;
}

export interface DeploymentGroup extends StoredGroupSettings {
  application: string;
  name: string;
  /** Stable ID handed to hooks as DEPLOYMENT_GROUP_ID. */
  id: string;
  createdAt: string;
  updatedAt: string;
}

const autoRollbackSchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }),
    events: z
      .array(z.enum(ROLLBACK_EVENTS, { error: `must be one of ${ROLLBACK_EVENTS.join(', ')}` }))
      .default([]),
  })
  .superRefine((rollback, ctx) => {
    if (rollback.enabled && rollback.events.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['events'], message: 'must name at least one event when rollback is enabled' });
    }
    if (new Set(rollback.events).size !== rollback.events.length) {
      ctx.addIssue({ code: 'custom', path: ['events'], message: 'must not repeat an event' });
    }
  }));

export const deploymentGroupBodySchema = /* @__PURE__ */ schema(() => z.strictObject({
  targets: z.strictObject({
    ec2TagSet: tagSetSchema.default([]),
    onPremisesTagSet: tagSetSchema.default([]),
    region: regionSchema.optional(),
    targetRoleArn: roleArnSchema.optional(),
  }),
  deploymentConfig: deploymentConfigSchema.default('OneAtATime'),
  autoRollback: autoRollbackSchema.default({ enabled: false, events: [] }),
  fileExistsBehavior: fileExistsBehaviorSchema.default('DISALLOW'),
  ignoreApplicationStopFailures: z.boolean({ error: 'must be true or false' }).default(false),
  hookRoleArn: roleArnSchema.nullable().default(null),
  busyBehavior: z.enum(BUSY_BEHAVIORS, { error: `must be one of ${BUSY_BEHAVIORS.join(', ')}` }).default('REJECT'),
  outdatedInstancesStrategy: z.enum(OUTDATED_INSTANCES_STRATEGIES, { error: `must be one of ${OUTDATED_INSTANCES_STRATEGIES.join(', ')}` }).default('UPDATE'),
  triggerConfigurations: triggerConfigurationsSchema.default([]),
}));

/** Turns a shape-valid body into settings, rejecting meanings we cannot honour (422). */
export function toDeploymentGroupSettings(body: z.output<typeof deploymentGroupBodySchema>): DeploymentGroupSettings {
  return { ...body, deploymentConfig: resolveDeploymentConfig(body.deploymentConfig) };
}
