import { z } from 'zod';
import { ConfigError } from './errors.js';

const configSchema = z.object({
  TABLE_NAME: z.string().min(1),
  ARTIFACT_BUCKET: z.string().min(3),
  STAGE: z.string().min(1).default('dev'),
});

export interface Config {
  tableName: string;
  artifactBucket: string;
  stage: string;
}

/** Read once at cold start: a missing or bad variable stops the container with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Fleetline configuration is incomplete: ${problems}`);
  }
  return {
    tableName: parsed.data.TABLE_NAME,
    artifactBucket: parsed.data.ARTIFACT_BUCKET,
    stage: parsed.data.STAGE,
  };
}
