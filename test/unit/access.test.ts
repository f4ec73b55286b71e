import { describe, expect, it } from 'vitest';
import { type AccessRule, evaluateAccess, principalNames } from '../../lib/domain/access.js';
import { callerIdentity, sessionDuration, sessionNameFor } from '../../lib/domain/credentials.js';
import { roleOutOfScope, underRolePath } from '../../lib/domain/role-arn.js';

const bob = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const rule = (id: string, effect: 'Allow' | 'Deny', actions: string[], resources: string[], principals = ['arn:aws:iam::111122223333:role/deployer']): AccessRule => ({
  id,
  effect,
  principals,
  actions,
  resources,
});

describe('access evaluation (IAM-style)', () => {
  const rules = [
    rule('deploy-web', 'Allow', ['deployments:*'], ['application/web/group/*']),
    rule('no-prod', 'Deny', ['deployments:create'], ['application/web/group/prod']),
    rule('approve', 'Allow', ['pipelines:approve'], ['pipeline/web-?']),
  ];
  const cases: [string, string, string, boolean][] = [
    ['allowed by a wildcard action and resource', 'deployments:create', 'application/web/group/staging', true],
    ['explicit deny beats the allow', 'deployments:create', 'application/web/group/prod', false],
    ['the deny is only for its action', 'deployments:stop', 'application/web/group/prod', true],
    ['default deny elsewhere', 'deployments:create', 'application/api/group/staging', false],
    ['? matches one character', 'pipelines:approve', 'pipeline/web-1', true],
    ['? does not match two', 'pipelines:approve', 'pipeline/web-12', false],
    ['no rule for the action', 'pipelines:put', 'pipeline/web-1', false],
  ];
  it.each(cases)('%s', (_name, action, resource, allowed) => {
    expect(evaluateAccess({ principal: bob, action, resource }, rules, []).allowed).toBe(allowed);
  });

  it('decides admins first: no rule applies to them, and they always manage rules', () => {
    const admins = ['arn:aws:iam::111122223333:role/deployer'];
    expect(evaluateAccess({ principal: bob, action: 'pipelines:put', resource: 'pipeline/x' }, rules, admins)).toEqual({ allowed: true, rule: 'admin' });
    expect(evaluateAccess({ principal: bob, action: 'deployments:create', resource: 'application/web/group/prod' }, rules, admins).allowed).toBe(true);
    const lockout = [rule('lock', 'Deny', ['*'], ['*'])];
    expect(evaluateAccess({ principal: bob, action: 'access:delete', resource: 'access-rule/lock' }, lockout, admins).allowed).toBe(true);
  });

  it('lets only administrators manage rules, whatever a rule grants', () => {
    const selfGrant = [rule('dave', 'Allow', ['access:*', '*'], ['access-rule/dave-*', '*'])];
    expect(evaluateAccess({ principal: bob, action: 'access:put', resource: 'access-rule/dave-1' }, selfGrant, [])).toEqual({
      allowed: false,
      reason: 'only administrators manage access rules',
    });
  });

  it('applies a rule naming a role to every session of it, whatever path the rule spells', () => {
    const contractor = 'arn:aws:sts::111122223333:assumed-role/contractor/bob';
    const withPath = [
      rule('all', 'Allow', ['*'], ['*'], ['arn:aws:iam::111122223333:role/contractor']),
      rule('no-contractors', 'Deny', ['deployments:*'], ['*'], ['arn:aws:iam::111122223333:role/teams/contractor']),
    ];
    expect(evaluateAccess({ principal: contractor, action: 'deployments:create', resource: 'application/web/group/prod' }, withPath, [])).toEqual({
      allowed: false,
      reason: 'denied by rule no-contractors',
    });
    expect(evaluateAccess({ principal: contractor, action: 'pipelines:get', resource: 'pipeline/p' }, withPath, []).allowed).toBe(true);
    // Admins spelled with a path are recognised the same way.
    expect(evaluateAccess({ principal: contractor, action: 'access:put', resource: 'access-rule/x' }, [], ['arn:aws:iam::111122223333:role/a/b/contractor']).allowed).toBe(true);
    // The role's name still has to match: a path never widens a rule to another role.
    expect(evaluateAccess({ principal: 'arn:aws:sts::111122223333:assumed-role/teams/x', action: 'pipelines:get', resource: 'pipeline/p' }, withPath, []).allowed).toBe(false);
  });

  it('matches an assumed-role session by its role ARN as well as its own', () => {
    expect(principalNames(bob)).toEqual([bob, 'arn:aws:iam::111122223333:role/deployer']);
    expect(principalNames('arn:aws:iam::111122223333:user/carol')).toEqual(['arn:aws:iam::111122223333:user/carol']);
  });
});

describe('credential requests', () => {
  it('takes the requested duration, defaults to an hour within the rule, and refuses more than the rule allows', () => {
    expect(sessionDuration(undefined, undefined)).toBe(3600);
    expect(sessionDuration(undefined, 1800)).toBe(1800);
    expect(sessionDuration(7200, undefined)).toBe(7200);
    expect(sessionDuration(7200, 1800)).toEqual({ problem: 'must be at most 1800, the longest session the granting rule allows' });
  });

  it('derives STS-safe session names and source identities from the caller; a caller adds at most a suffix', () => {
    expect(callerIdentity(bob)).toEqual({ sourceIdentity: 'deployer@bob' });
    expect(callerIdentity('arn:aws:iam::111122223333:user/ops/carol')).toEqual({ sourceIdentity: 'carol' });
    expect(sessionNameFor(bob, undefined)).toBe('fl-111122223333-deployer@bob');
    expect(sessionNameFor(bob, 'ci')).toBe('fl-111122223333-deployer@bob,ci');
    const long = `arn:aws:sts::111122223333:assumed-role/deployer/${'x'.repeat(27)}`;
    expect(sessionNameFor(long, 'y'.repeat(20))).toEqual({ problem: expect.stringMatching(/^must be at most 11 characters for this caller/) });
  });

  it('only hands out roles under the configured path', () => {
    expect(underRolePath('arn:aws:iam::111122223333:role/fleetline/deploy', '/fleetline/')).toBe(true);
    expect(underRolePath('arn:aws:iam::111122223333:role/admin', '/fleetline/')).toBe(false);
    expect(underRolePath('arn:aws:iam::111122223333:role/fleetline-evil/x', '/fleetline/')).toBe(false);
  });

  const scope = { partition: 'aws', accounts: ['111122223333'], assumableRolePath: '/fleetline/' };
  const hostile: [string, RegExp][] = [
    ['arn:aws:iam::111122223333:role/fleetline/../admin', /plain role path/],
    ['arn:aws:iam::111122223333:role/fleetline/./x', /plain role path/],
    ['arn:aws:iam::111122223333:role/fleetline//x', /plain role path/],
    ['arn:aws:iam::444455556666:role/fleetline/tools', /account 444455556666; Fleetline assumes roles only in the deploy parameter credentialAccounts \(111122223333\)/],
    ['arn:aws-cn:iam::111122223333:role/fleetline/tools', /partition aws-cn; Fleetline runs in aws/],
    ['arn:aws:iam::111122223333:role/fleetline/to ols', /role name/],
    ['arn:aws:iam::111122223333:role/fleetline/', /role name/],
    ['arn:aws:iam::111122223333:user/fleetline/tools', /must be an IAM role ARN/],
    ['arn:aws:iam::111122223333:role/other/fleetline/tools', /outside \/fleetline\//],
  ];
  it.each(hostile)('refuses %s', (arn, reason) => {
    expect(roleOutOfScope(arn, scope)).toMatch(reason);
  });

  it('accepts a role under the path in a configured account, and says what to configure when no account is', () => {
    expect(roleOutOfScope('arn:aws:iam::111122223333:role/fleetline/team/tools', scope)).toBeUndefined();
    expect(roleOutOfScope('arn:aws:iam::111122223333:role/fleetline/tools', { ...scope, accounts: [] })).toMatch(/deploy parameter credentialAccounts/);
  });
});
