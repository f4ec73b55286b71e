import { describe, expect, it } from 'vitest';
import roles from '../../iam/assumable-roles.cjs';

const { assumeStatement } = roles;

describe("the functions' assume-role statement (iam/assumable-roles.cjs)", () => {
  it('names each credentialAccounts account under the assumable path, and no other account', () => {
    expect(assumeStatement(['sts:AssumeRole'], ' 111122223333 ,444455556666,111122223333', '/fleetline/')).toEqual({
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: [
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111122223333:role/fleetline/*' },
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::444455556666:role/fleetline/*' },
      ],
    });
  });

  it('denies assuming any role while credentialAccounts names none', () => {
    for (const none of ['', ' ', undefined]) {
      expect(assumeStatement(['sts:AssumeRole'], none, '/fleetline/')).toEqual({
        Effect: 'Deny',
        Action: ['sts:AssumeRole'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/*' },
      });
    }
  });

  it('stops packaging on an account that is not 12 digits, naming it', () => {
    for (const bad of ['*', '1111-2222-3333', '111122223333,*', '11112222333']) {
      expect(() => assumeStatement(['sts:AssumeRole'], bad, '/fleetline/')).toThrow(/credentialAccounts must be comma-separated 12-digit/);
    }
  });
});
