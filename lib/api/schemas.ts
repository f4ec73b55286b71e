import { z } from 'zod';
import { nameSchema } from '../domain/names.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

export const pageQuerySchema = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
  nextToken: z.string().min(1).max(4096).optional(),
});

export const appParams = z.strictObject({ app: nameSchema });
export const groupParams = z.strictObject({ app: nameSchema, group: nameSchema });
export const instanceParams = z.strictObject({ instanceId: nameSchema });
