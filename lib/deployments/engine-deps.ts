import type { RoleScope } from '../domain/role-arn.js';
import type {
  AgentPresenceRepository,
  LiveLogRepository,
  ApplicationsRepository,
  BundleUrls,
  CredentialAuditLog,
  CredentialIssuer,
  Clock,
  DeploymentGroupsRepository,
  DeploymentsRepository,
  Ec2TargetLookup,
  InstanceDeploymentsRepository,
  InstanceNotifier,
  InstancesRepository,
} from '../ports.js';

export interface EngineTimings {
  /** How long an agent's lease lasts without a poll or report. */
  leaseSeconds: number;
  /** How long a dispatched instance may wait for its agent to pick the work up. */
  startTimeoutSeconds: number;
  /** How often an idle agent polls. */
  pollIntervalSeconds: number;
}

export const DEFAULT_TIMINGS: EngineTimings = { leaseSeconds: 90, startTimeoutSeconds: 300, pollIntervalSeconds: 10 };

/** What the deployment engine's use cases work with. */
export interface EngineDeps {
  deployments: DeploymentsRepository;
  instanceDeployments: InstanceDeploymentsRepository;
  groups: DeploymentGroupsRepository;
  instances: InstancesRepository;
  ec2: Ec2TargetLookup;
  bundles: BundleUrls;
  clock: Clock;
  randomBytes: (n: number) => Uint8Array;
  timings: EngineTimings;
  /** IAM role names whose EC2 sessions (session name = instance ID) are agents. */
  agentRoleNames: readonly string[];
  /** Accounts whose agent-role sessions are agents; sessions from any other account never are. */
  agentAccounts: readonly string[];
  /** Issues hook credentials when a group sets hookRoleArn. */
  issuer?: CredentialIssuer | undefined;
  /** Roles Fleetline may assume live under this IAM path, in these accounts (deploy parameter credentialAccounts) and partition. */
  assumableRolePath: string;
  credentialAccounts: readonly string[];
  partition: string;
  /** Where every issue of credentials is recorded, hook credentials included. */
  audit: CredentialAuditLog;
  /** Applications and the artifact bucket: where each application's revisions may come from. */
  applications: ApplicationsRepository;
  artifactBucket: string;
  /** Pushes a wake-up to agents when work is dispatched to them or a stop is requested. */
  notifier?: InstanceNotifier | undefined;
  /** Agents' versions and last contacts. */
  agentPresence: AgentPresenceRepository;
  /** Follower leases and live output chunks (docs/live-logs.md). */
  liveLogs: LiveLogRepository;
  /** Agents older than this are told so in every poll answer. */
  minimumAgentVersion: string;
  /** The agents' control channel, told to them in every poll answer (none: they poll). */
  channelUrl?: string | undefined;
  /** The SNS topic ARN patterns groups' triggers may name (deploy parameter triggerTopicArns); none when absent or empty. */
  triggerTopicArns?: readonly string[] | undefined;
}

/** The one rule every role Fleetline assumes must pass (lib/domain/role-arn.ts). */
export function roleScopeOf(deps: Pick<EngineDeps, 'partition' | 'credentialAccounts' | 'assumableRolePath'>): RoleScope {
  return { partition: deps.partition, accounts: deps.credentialAccounts, assumableRolePath: deps.assumableRolePath };
}

export function plusSeconds(date: Date, seconds: number): string {
  return new Date(date.getTime() + seconds * 1000).toISOString();
}
