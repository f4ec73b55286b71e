/** IAM role ARNs, read strictly (they decide which role Fleetline assumes). */

export interface RoleArn {
  partition: string;
  account: string;
  /** Path segments between `role/` and the name (`/fleetline/tools/` → ['fleetline', 'tools']). */
  path: string[];
  name: string;
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const PATH_SEGMENT = /^[\w+=,.@-]{1,128}$/;

/** A role ARN read strictly: no empty, `.` or `..` path segment, IAM's role name characters. */
export function parseRoleArn(arn: string): RoleArn | { problem: string } {
  const match = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(.{1,576})$/.exec(arn);
  if (!match) return { problem: 'must be an IAM role ARN: arn:<partition>:iam::<12-digit account>:role/<path/><name>' };
  const [, partition, account, rest] = match as unknown as [string, string, string, string];
  const segments = rest.split('/');
  const name = segments.pop() as string;
  if (!ROLE_NAME.test(name)) return { problem: 'must end in a role name of 1-64 characters from A-Z a-z 0-9 _ + = , . @ -' };
  if (segments.some((segment) => segment === '.' || segment === '..' || !PATH_SEGMENT.test(segment))) {
    return { problem: 'must have a plain role path: no empty, "." or ".." segment, only A-Z a-z 0-9 _ + = , . @ -' };
  }
  return { partition, account, path: segments, name };
}

/**
 * The one rule for every role Fleetline assumes (POST /credentials, a group's
 * hookRoleArn and targetRoleArn): the partition Fleetline runs in, an account in
 * the deploy parameter credentialAccounts, a path under assumableRolePath.
 */
export interface RoleScope {
  partition: string;
  /** The deploy parameter credentialAccounts. */
  accounts: readonly string[];
  assumableRolePath: string;
}

/** Whether a role ARN lies under the IAM path Fleetline may assume (defence in depth beside its own IAM policy). */
export function underRolePath(roleArn: string, path: string): boolean {
  const role = parseRoleArn(roleArn);
  if ('problem' in role) return false;
  const wanted = path.split('/').filter(Boolean);
  return wanted.every((segment, i) => role.path[i] === segment);
}

/** Why Fleetline will not assume this role, or undefined when it may. */
export function roleOutOfScope(roleArn: string, scope: RoleScope): string | undefined {
  const role = parseRoleArn(roleArn);
  if ('problem' in role) return `${roleArn} ${role.problem}`;
  if (role.partition !== scope.partition) return `${roleArn} is in partition ${role.partition}; Fleetline runs in ${scope.partition}`;
  if (!scope.accounts.includes(role.account)) {
    return scope.accounts.length === 0
      ? `${roleArn} cannot be used: Fleetline assumes no role until the deploy parameter credentialAccounts names the roles' accounts`
      : `${roleArn} is in account ${role.account}; Fleetline assumes roles only in the deploy parameter credentialAccounts (${scope.accounts.join(', ')})`;
  }
  if (!underRolePath(roleArn, scope.assumableRolePath)) {
    return `${roleArn} is outside ${scope.assumableRolePath}, the only path Fleetline assumes roles from`;
  }
  return undefined;
}
