import { z } from 'zod';
import { partitionOf } from './domain/credentials.js';
import { ConfigError } from './errors.js';

const configSchema = z.object({
  TABLE_NAME: z.string().min(1),
  ARTIFACT_BUCKET: z.string().min(3),
  STAGE: z.string().min(1).default('dev'),
  /** Comma-separated IAM role names whose EC2 sessions are Fleetline agents. */
  AGENT_ROLE_NAMES: z.string().min(1).default('fleetline-agent'),
  /** Comma-separated 12-digit accounts whose agent-role sessions are agents (deploy parameter agentAccounts). */
  AGENT_ACCOUNTS: z
    .string()
    .regex(/^\s*(\d{12}(\s*,\s*\d{12})*)?\s*$/, 'must be comma-separated 12-digit AWS account IDs')
    .default(''),
  /** Comma-separated 12-digit accounts whose roles POST /credentials may hand out (deploy parameter credentialAccounts). */
  CREDENTIAL_ACCOUNTS: z
    .string()
    .regex(/^\s*(\d{12}(\s*,\s*\d{12})*)?\s*$/, 'must be comma-separated 12-digit AWS account IDs')
    .default(''),
  /** Set by Lambda; decides the partition of the ARNs Fleetline accepts. */
  AWS_REGION: z.string().optional(),
  /** Path-style S3 URLs (local S3 servers need them). */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  AGENT_LEASE_SECONDS: z.coerce.number().int().min(10).max(3600).default(90),
  AGENT_START_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(86400).default(300),
  AGENT_POLL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  /** Comma-separated principal ARN patterns that administer Fleetline (the deploy parameter adminPrincipals). */
  ADMIN_PRINCIPALS: z.string().default(''),
  /** Roles POST /credentials may hand out must live under this IAM path. */
  ASSUMABLE_ROLE_PATH: z.string().regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path such as /fleetline/').default('/fleetline/'),
});

export interface Config {
  tableName: string;
  artifactBucket: string;
  stage: string;
  agentRoleNames: string[];
  agentAccounts: string[];
  credentialAccounts: string[];
  partition: string;
  s3ForcePathStyle: boolean;
  timings: { leaseSeconds: number; startTimeoutSeconds: number; pollIntervalSeconds: number };
  adminPrincipals: string[];
  assumableRolePath: string;
}

const accountList = (text: string) => text.split(',').map((n) => n.trim()).filter(Boolean);

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
    agentRoleNames: parsed.data.AGENT_ROLE_NAMES.split(',').map((n) => n.trim()).filter(Boolean),
    agentAccounts: accountList(parsed.data.AGENT_ACCOUNTS),
    credentialAccounts: accountList(parsed.data.CREDENTIAL_ACCOUNTS),
    partition: partitionOf(parsed.data.AWS_REGION),
    s3ForcePathStyle: parsed.data.S3_FORCE_PATH_STYLE === 'true',
    adminPrincipals: parsed.data.ADMIN_PRINCIPALS.split(',').map((p) => p.trim()).filter(Boolean),
    assumableRolePath: parsed.data.ASSUMABLE_ROLE_PATH,
    timings: {
      leaseSeconds: parsed.data.AGENT_LEASE_SECONDS,
      startTimeoutSeconds: parsed.data.AGENT_START_TIMEOUT_SECONDS,
      pollIntervalSeconds: parsed.data.AGENT_POLL_INTERVAL_SECONDS,
    },
  };
}

/**
 * The API cannot run without an administrator (nobody could ever grant anything),
 * nor without knowing which accounts' agent sessions to trust.
 */
export function requireAdmins(config: Config): Config {
  if (config.adminPrincipals.length === 0) {
    throw new ConfigError('ADMIN_PRINCIPALS names no administrator; deploy with --param="adminPrincipals=arn:aws:iam::<account>:role/<admin role>"');
  }
  if (config.agentAccounts.length === 0) {
    throw new ConfigError('AGENT_ACCOUNTS names no account; deploy with --param="agentAccounts=<12-digit account ID of your instances>[,<another>]"');
  }
  return config;
}
