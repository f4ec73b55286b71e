import { z } from 'zod';
import { parseRoleArn } from './role-arn.js';
import { schema } from './schema.js';

/** Application, deployment group, pipeline and registered instance names. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

export const nameSchema = /* @__PURE__ */ schema(() => z
  .string({ error: 'must be a string' })
  .regex(NAME_PATTERN, 'must be 1-100 characters from A-Z a-z 0-9 . _ -'));

export const roleArnSchema = /* @__PURE__ */ schema(() => z.string({ error: 'must be a string' }).superRefine((arn, ctx) => {
  const role = parseRoleArn(arn);
  if ('problem' in role) ctx.addIssue({ code: 'custom', message: role.problem });
}));

export const regionSchema = /* @__PURE__ */ schema(() => z
  .string({ error: 'must be a string' })
  .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region code such as eu-west-1'));
