import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { AGENT_VERSION_PATTERN, MINIMUM_AGENT_VERSION } from './domain/agent-presence.js';
import { channelUrlProblem } from './domain/channel-url.js';
import { partitionOf } from './domain/credentials.js';
import { ConfigError } from './errors.js';
import { emulatorCredentials } from './adapters/aws/local-emulators.js';

// zod's small build: every function validates its configuration at cold start, and most
// never load the full one. Without a locale it would only ever say "Invalid input".
z.config(en());

/** A comma-separated list whose every entry (spaces around commas allowed) matches `entry`. */
const listOf = (entry: string) => new RegExp(`^\\s*(${entry}(\\s*,\\s*${entry})*)?\\s*$`);
/** One entry of triggerTopicArns: an SNS topic ARN in one account, the region and the name may hold `*`. */
const TOPIC_PATTERN = 'arn:aws[a-z-]*:sns:([a-z0-9-]+|\\*):\\d{12}:[A-Za-z0-9_*.-]{1,256}';
const accounts = z._default(z.string().check(z.regex(listOf('\\d{12}'), 'must be comma-separated 12-digit AWS account IDs')), '');
const seconds = (min: number, max: number, fallback: number) =>
  z._default(z.pipe(z.coerce.number(), z.int().check(z.gte(min), z.lte(max))), fallback);

const configSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  ARTIFACT_BUCKET: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)')),
  STAGE: z._default(z.string().check(z.minLength(1)), 'dev'),
  /** Comma-separated IAM role names whose EC2 sessions are Fleetline agents. */
  AGENT_ROLE_NAMES: z._default(z.string().check(z.regex(listOf('[\\w+=.@-]{1,64}'), 'must be comma-separated IAM role names'), z.refine((names) => names.trim() !== '', 'must name at least one IAM role')), 'fleetline-agent'),
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
  /** Agents older than this version are told so (their log, `fleetline instances`). */
  MINIMUM_AGENT_VERSION: z._default(z.string().check(z.regex(AGENT_VERSION_PATTERN, 'must be a version such as 1.2.3')), MINIMUM_AGENT_VERSION),
  /** Comma-separated principal ARN patterns that administer Fleetline (the deploy parameter adminPrincipals). */
  ADMIN_PRINCIPALS: z._default(z.string().check(z.regex(listOf('arn:[\\w*-]+:(iam|sts|\\*)::[\\d*]*:[^\\s,]+'), 'must be comma-separated IAM principal ARN patterns (arn:aws:iam::<account>:role/<name>)')), ''),
  /** Roles POST /credentials may hand out must live under this IAM path. */
  ASSUMABLE_ROLE_PATH: z._default(z.string().check(z.regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path such as /fleetline/')), '/fleetline/'),
  /** The EventBridge bus the worker publishes state-change events to (deploy parameter eventBus); unset locally, where the table is the feed. */
  EVENT_BUS: z.optional(z.string().check(z.regex(/^[\w.\-/]{1,256}$/, 'must be an EventBridge bus name such as default (letters, digits, . _ - /)'))),
  /**
   * The SNS topics deployment groups' triggers may publish to (deploy parameter triggerTopicArns):
   * comma-separated topic ARNs, `*` for any run of characters in the region or the topic name;
   * empty, none (the worker's IAM then denies sns:Publish outright).
   */
  TRIGGER_TOPIC_ARNS: z._default(
    z.string().check(z.regex(listOf(TOPIC_PATTERN), 'must be comma-separated SNS topic ARNs (arn:aws:sns:<region or *>:<12-digit account>:<topic name, * allowed>)')),
    '',
  ),
  /** Set only in local mode (npm start): the S3 emulator, which GET /config names for the CLI. */
  AWS_ENDPOINT_URL_S3: z.optional(z.string()),
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
  minimumAgentVersion: string;
  /** The functions' region (Lambda's AWS_REGION), told to the CLI by GET /config. */
  region?: string | undefined;
  /** A loopback S3 endpoint (the local stack's emulator); never set in AWS. */
  localS3Endpoint?: string | undefined;
  /** The EventBridge bus events are published to; none locally. */
  eventBus?: string | undefined;
  /** The SNS topic ARN patterns groups' triggers may name; none when empty. */
  triggerTopicArns: string[];
}

const splitList = (text: string) => text.split(',').map((n) => n.trim()).filter(Boolean);

/** A variable that is missing or malformed, and why. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/**
 * Every problem with the variables, those the API needs besides (an administrator, the
 * accounts of its agents) when `api` is set. Deploy-time checks report these, naming
 * the deploy parameter behind each variable, before anything reaches AWS.
 */
export function configProblems(env: NodeJS.ProcessEnv, { api = false } = {}): ConfigProblem[] {
  const parsed = configSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => ({ variable: i.path.join('.'), message: i.message }));
  const lists = { adminPrincipals: splitList(env.ADMIN_PRINCIPALS ?? ''), agentAccounts: splitList(env.AGENT_ACCOUNTS ?? '') };
  return api ? [...problems, ...apiProblems(lists).filter((p) => !problems.some((q) => q.variable === p.variable))] : problems;
}

/** Read once at cold start: a missing or bad variable stops the container with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Fleetline configuration is incomplete: ${problems}`);
  }
  return toConfig(parsed.data);
}

function toConfig(data: z.output<typeof configSchema>): Config {
  return {
    tableName: data.TABLE_NAME,
    artifactBucket: data.ARTIFACT_BUCKET,
    stage: data.STAGE,
    agentRoleNames: splitList(data.AGENT_ROLE_NAMES),
    agentAccounts: splitList(data.AGENT_ACCOUNTS),
    credentialAccounts: splitList(data.CREDENTIAL_ACCOUNTS),
    partition: partitionOf(data.AWS_REGION),
    s3ForcePathStyle: data.S3_FORCE_PATH_STYLE === 'true',
    adminPrincipals: splitList(data.ADMIN_PRINCIPALS),
    assumableRolePath: data.ASSUMABLE_ROLE_PATH,
    channelUrl: data.CHANNEL_URL,
    minimumAgentVersion: data.MINIMUM_AGENT_VERSION,
    region: data.AWS_REGION,
    localS3Endpoint: emulatorCredentials(data.AWS_ENDPOINT_URL_S3).credentials ? data.AWS_ENDPOINT_URL_S3 : undefined,
    eventBus: data.EVENT_BUS,
    triggerTopicArns: splitList(data.TRIGGER_TOPIC_ARNS),
    timings: {
      leaseSeconds: data.AGENT_LEASE_SECONDS,
      startTimeoutSeconds: data.AGENT_START_TIMEOUT_SECONDS,
      pollIntervalSeconds: data.AGENT_POLL_INTERVAL_SECONDS,
    },
  };
}

/**
 * The API cannot run without an administrator (nobody could ever grant anything),
 * nor without knowing which accounts' agent sessions to trust.
 */
export function requireApiSettings(config: Config): Config {
  const [first] = apiProblems(config);
  if (first) throw new ConfigError(`${first.variable} ${first.message}`);
  return config;
}

function apiProblems(config: Pick<Config, 'adminPrincipals' | 'agentAccounts'>): ConfigProblem[] {
  return [
    ...(config.adminPrincipals.length === 0
      ? [{ variable: 'ADMIN_PRINCIPALS', message: 'names no administrator; deploy with --param="adminPrincipals=arn:aws:iam::<account>:role/<admin role>"' }]
      : []),
    ...(config.agentAccounts.length === 0
      ? [{ variable: 'AGENT_ACCOUNTS', message: 'names no account; deploy with --param="agentAccounts=<12-digit account ID of your instances>[,<another>]"' }]
      : []),
  ];
}
