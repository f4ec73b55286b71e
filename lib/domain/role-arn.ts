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
