import { describe, expect, it } from 'vitest';
import { mayActAsAgent, parsePrincipal } from '../../lib/domain/identity.js';

const roles = { roleNames: ['fleetline-agent'], accounts: ['111122223333'] };

describe('principals', () => {
  it('reads an assumed-role ARN as role + session', () => {
    expect(parsePrincipal('arn:aws:sts::111122223333:assumed-role/fleetline-agent/i-0abc')).toEqual({
      arn: 'arn:aws:sts::111122223333:assumed-role/fleetline-agent/i-0abc',
      account: '111122223333',
      kind: 'assumed-role',
      name: 'fleetline-agent',
      session: 'i-0abc',
    });
  });

  it('reads a user with a path by its name', () => {
    expect(parsePrincipal('arn:aws:iam::111122223333:user/ops/alice')).toMatchObject({ kind: 'user', name: 'alice' });
  });

  it('rejects what is not an IAM or STS ARN', () => {
    expect(parsePrincipal('alice')).toBeUndefined();
    expect(parsePrincipal('arn:aws:s3:::bucket')).toBeUndefined();
  });
});

describe('who may act as an agent', () => {
  const cases: [string, string, string, string | null, boolean][] = [
    ['the instance profile session of that instance', 'arn:aws:sts::111122223333:assumed-role/fleetline-agent/i-1', 'i-1', null, true],
    ['the same role for another instance', 'arn:aws:sts::111122223333:assumed-role/fleetline-agent/i-2', 'i-1', null, false],
    ['a session of a role that is not an agent role', 'arn:aws:sts::111122223333:assumed-role/admin/i-1', 'i-1', null, false],
    ['an IAM user without a binding', 'arn:aws:iam::111122223333:user/i-1', 'i-1', null, false],
    ['the principal bound at registration', 'arn:aws:iam::111122223333:user/rack-12', 'rack-12', 'arn:aws:iam::111122223333:user/rack-12', true],
    ['the agent role of an account that is not trusted', 'arn:aws:sts::999999999999:assumed-role/fleetline-agent/i-1', 'i-1', null, false],
    ['the agent role in another partition but an untrusted account', 'arn:aws-cn:sts::999999999999:assumed-role/fleetline-agent/i-1', 'i-1', null, false],
    ['an agent session for an instance bound to someone else', 'arn:aws:sts::111122223333:assumed-role/fleetline-agent/rack-12', 'rack-12', 'arn:aws:iam::111122223333:user/rack-12', false],
  ];
  it.each(cases)('%s', (_name, caller, instanceId, bound, expected) => {
    expect(mayActAsAgent(caller, instanceId, bound, roles)).toBe(expected);
  });
});
