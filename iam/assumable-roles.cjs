// The IAM statement that lets a function assume roles: only roles under the assumable path,
// only in the accounts of the deploy parameter credentialAccounts (the rule the code applies,
// lib/domain/role-arn.ts, kept by IAM as well). Resolved by osls at package time:
//   - ${file(./iam/assumable-roles.cjs):issue}   POST /credentials and hook credentials (the API)
//   - ${file(./iam/assumable-roles.cjs):lookup}  EC2 target lookup through a group's targetRoleArn
const ACCOUNT = /^\d{12}$/;

/** The statement for these parameter values; with no account, an explicit Deny: nothing may be assumed. */
function assumeStatement(actions, credentialAccounts, assumableRolePath) {
  const accounts = String(credentialAccounts ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  const bad = accounts.filter((a) => !ACCOUNT.test(a));
  if (bad.length > 0) throw new Error(`credentialAccounts must be comma-separated 12-digit AWS account IDs; not ${bad.join(', ')}`);
  if (accounts.length === 0) {
    return { Effect: 'Deny', Action: actions, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/*' } };
  }
  return {
    Effect: 'Allow',
    Action: actions,
    Resource: [...new Set(accounts)].map((account) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${account}:role${assumableRolePath}*` })),
  };
}

const fromParameters = (actions) => async ({ resolveVariable }) =>
  assumeStatement(actions, await resolveVariable('param:credentialAccounts'), await resolveVariable('param:assumableRolePath'));

module.exports = {
  issue: fromParameters(['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']),
  lookup: fromParameters(['sts:AssumeRole']),
  assumeStatement,
};
