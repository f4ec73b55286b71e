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

/**
 * May this caller act as the agent of `instanceId`? A registered instance bound
 * to a principal answers to that principal alone; otherwise only the instance's
 * own EC2 instance-profile session (an agent role, session name = instance ID).
 */
export function mayActAsAgent(
  callerArn: string,
  instanceId: string,
  registeredIamArn: string | null | undefined,
  agentRoleNames: readonly string[],
): boolean {
  if (registeredIamArn) return registeredIamArn === callerArn;
  const caller = parsePrincipal(callerArn);
  return Boolean(
    caller?.kind === 'assumed-role' && caller.session === instanceId && agentRoleNames.includes(caller.name),
  );
}
