import { z } from 'zod';

export interface Application {
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export const applicationBodySchema = z
  .strictObject({
    description: z.string({ error: 'must be a string' }).max(1024, 'must be at most 1024 characters').default(''),
  })
  .default({ description: '' });
