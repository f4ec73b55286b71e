import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { channelUrlProblem } from './domain/channel-url.js';
import { partitionOf } from './domain/credentials.js';
import { ConfigError } from './errors.js';

// zod's small build: every function validates its configuration at cold start, and most
// never load the full one. Without a locale it would only ever say "Invalid input".
z.config(en());

const accounts = z._default(z.string().check(z.regex(/^\s*(\d{12}(\s*,\s*\d{12})*)?\s*$/, 'must be comma-separated 12-digit AWS account IDs')), '');
const seconds = (min: number, max: number, fallback: number) =>
  z._default(z.pipe(z.coerce.number(), z.int().check(z.gte(min), z.lte(max))), fallback);

const configSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  ARTIFACT_BUCKET: z.string().check(z.minLength(3)),
  STAGE: z._default(z.string().check(z.minLength(1)), 'dev'),
  /** Comma-separated IAM role names whose EC2 sessions are Fleetline agents. */
  AGENT_ROLE_NAMES: z._default(z.string().check(z.minLength(1)), 'fleetline-agent'),
  /** Comma-separated 12-digit accounts whose agent-role sessions are agents (deploy parameter agentAccounts). */
  AGENT_ACCOUNTS: accounts,
  /** Comma-separated 12-digit accounts whose roles POST /credentials may hand out (deploy parameter credentialAccounts). */
  CREDENTIAL_ACCOUNTS: accounts,
  /** Set by Lambda; decides the partition of the ARNs Fleetline accepts. */
  AWS_REGION: z.optional(z.string()),
  /** Path-style S3 URLs (local S3 servers need them). */
  S3_FORCE_PATH_STYLE: z._default(z.enum(['true', 'false']), 'false'),
  AGENT_LEASE_SECONDS: seconds(10, 3600, 90),
  AGENT_START_TIMEOUT_SECONDS: seconds(10, 86400, 300),
  AGENT_POLL_INTERVAL_SECONDS: seconds(1, 300, 10),
  /** Comma-separated principal ARN patterns that administer Fleetline (the deploy parameter adminPrincipals). */
  ADMIN_PRINCIPALS: z._default(z.string(), ''),
  /** Roles POST /credentials may hand out must live under this IAM path. */
  ASSUMABLE_ROLE_PATH: z._default(z.string().check(z.regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path such as /fleetline/')), '/fleetline/'),
  /** The agents' control channel (the WebSocket API's stage URL), told to agents in every poll answer. */
  CHANNEL_URL: z.optional(z.string().check(z.refine((url) => channelUrlProblem(url) === undefined, 'must be a wss:// URL (ws:// only to a loopback host)'))),
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
  channelUrl: string | undefined;
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
    channelUrl: parsed.data.CHANNEL_URL,
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
