/** IAM principals as API Gateway's IAM authorizer reports them. */

export interface Principal {
  arn: string;
  account: string;
  /** 'assumed-role' for STS sessions (EC2 instance profiles included), else 'user' / 'role' / … */
  kind: string;
  /** Role or user name (for an assumed role, the role's name without its path). */
  name: string;
  /** The session name of an assumed role (for EC2 instance profiles, the instance ID). */
  session?: string | undefined;
}

const ARN = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):([\w+=,.@/:-]+)$/;

export function parsePrincipal(arn: string): Principal | undefined {
  const match = ARN.exec(arn);
  if (!match) return undefined;
  const [, , service, account, resource] = match as unknown as [string, string, string, string, string];
  const parts = resource.split('/');
  const kind = parts[0] ?? '';
  if (service === 'sts' && kind === 'assumed-role' && parts.length === 3) {
    return { arn, account, kind, name: parts[1] as string, session: parts[2] };
  }
  if (service === 'iam' && parts.length >= 2) return { arn, account, kind, name: parts[parts.length - 1] as string };
  return undefined;
}

/** Which sessions are agents: sessions of these roles, in these accounts (configuration, checked at cold start). */
export interface AgentTrust {
  roleNames: readonly string[];
  accounts: readonly string[];
}

/** EC2's instance ID format: their tags come from EC2, and only their own instance-profile session speaks for them. */
export const EC2_INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

export function isEc2InstanceId(instanceId: string): boolean {
  return EC2_INSTANCE_ID.test(instanceId);
}

/** Is this caller a session of an agent role, in a trusted account, named after `instanceId`? */
export function isAgentSessionOf(callerArn: string, instanceId: string, trust: AgentTrust): boolean {
  const caller = parsePrincipal(callerArn);
  return Boolean(
    caller?.kind === 'assumed-role' &&
      caller.session === instanceId &&
      trust.roleNames.includes(caller.name) &&
      trust.accounts.includes(caller.account),
  );
}

/**
 * May this caller act as the agent of `instanceId`? A registered instance bound
 * to a principal answers to that principal alone (an administrator chose it);
 * otherwise only the instance's own agent session: an agent role, in a trusted
 * account, session name = instance ID.
 */
export function mayActAsAgent(
  callerArn: string,
  instanceId: string,
  registeredIamArn: string | null | undefined,
  trust: AgentTrust,
): boolean {
  if (registeredIamArn) return registeredIamArn === callerArn;
  return isAgentSessionOf(callerArn, instanceId, trust);
}
