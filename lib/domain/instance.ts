import { z } from 'zod';
import { type Tag, instanceTagsSchema } from './tags.js';

/** An on-premises (or local) instance registered by name, targeted through onPremisesTagSet. */
export interface RegisteredInstance {
  instanceId: string;
  tags: Tag[];
  /** The IAM principal this instance's agent signs with; only it may poll and report for the instance. */
  iamArn: string | null;
  registeredAt: string;
  updatedAt: string;
}

export const principalArnSchema = z
  .string({ error: 'must be a string' })
  .regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/:-]{1,1024}$/, 'must be an IAM user, role or assumed-role ARN');

export const instanceBodySchema = z.strictObject({
  tags: instanceTagsSchema.default([]),
  iamArn: principalArnSchema.nullable().default(null),
});
