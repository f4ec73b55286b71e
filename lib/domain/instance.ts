import { z } from 'zod';
import { type Tag, instanceTagsSchema } from './tags.js';
import { schema } from './schema.js';

/** An on-premises (or local) instance registered by name, targeted through onPremisesTagSet. */
export interface RegisteredInstance {
  instanceId: string;
  tags: Tag[];
  /** The IAM principal this instance's agent signs with; only it may poll and report for the instance. */
  iamArn: string | null;
  /**
   * Tags an agent asked for when it registered itself: never applied. The instance
   * has no targeting tags until an administrator sets them (PUT /instances/{id}).
   */
  requestedTags?: Tag[] | undefined;
  registeredAt: string;
  updatedAt: string;
}

export const principalArnSchema = /* @__PURE__ */ schema(() => z
  .string({ error: 'must be a string' })
  .regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/:-]{1,1024}$/, 'must be an IAM user, role or assumed-role ARN'));

/** PUT /instances/{id}: a field left out keeps its value (a new instance starts with no tags and no binding). */
export const instanceBodySchema = /* @__PURE__ */ schema(() => z.strictObject({
  tags: instanceTagsSchema.optional(),
  iamArn: principalArnSchema.nullable().optional(),
}).default({}));

export interface InstanceChanges {
  tags?: Tag[] | undefined;
  iamArn?: string | null | undefined;
}
