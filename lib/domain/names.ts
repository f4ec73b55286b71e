import { z } from 'zod';

/** Application, deployment group, pipeline and registered instance names. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

export const nameSchema = z
  .string({ error: 'must be a string' })
  .regex(NAME_PATTERN, 'must be 1-100 characters from A-Z a-z 0-9 . _ -');

export const roleArnSchema = z
  .string({ error: 'must be a string' })
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    'must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<path/name>)',
  );

export const regionSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region code such as eu-west-1');
