import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hookSessionName, sessionNameFor } from '../../lib/domain/credentials.js';

/**
 * A session name is who assumed the role, as CloudTrail and the assumed role's
 * ARN show it: no two callers (nor one caller with two suffixes) may share one.
 */
const STS_NAME = /^[\w+=,.@-]{2,64}$/;
const named = (caller: string, suffix?: string) => {
  const name = sessionNameFor(caller, suffix);
  if (typeof name !== 'string') throw new Error(`refused: ${name.problem}`);
  return name;
};

describe('session names', () => {
  it("keeps mallory's session \"alice\" apart from the user mallory-alice", () => {
    const mallory = 'arn:aws:iam::111122223333:user/mallory';
    const malloryAlice = 'arn:aws:iam::111122223333:user/mallory-alice';
    expect(named(mallory, 'alice')).not.toBe(named(malloryAlice));
    // and the same for assumed roles, accounts, and separators inside names
    expect(named('arn:aws:sts::111122223333:assumed-role/deployer/bob', 'ci')).not.toBe(named('arn:aws:sts::111122223333:assumed-role/deployer/bob-ci'));
    expect(named('arn:aws:iam::111122223333:user/bob')).not.toBe(named('arn:aws:iam::444455556666:user/bob'));
    expect(named('arn:aws:sts::111122223333:assumed-role/a/b@c')).not.toBe(named('arn:aws:sts::111122223333:assumed-role/a@b/c'));
    expect(named('arn:aws:iam::111122223333:user/a', 'b')).not.toBe(named('arn:aws:iam::111122223333:user/a,b'));
    expect(named('arn:aws:iam::111122223333:user/x')).not.toBe(named('arn:aws:iam::111122223333:role/x'));
  });

  it('reads as the caller: account, name, session and suffix', () => {
    expect(named('arn:aws:sts::111122223333:assumed-role/deployer/bob')).toBe('fl-111122223333-deployer@bob');
    expect(named('arn:aws:sts::111122223333:assumed-role/deployer/bob', 'ci')).toBe('fl-111122223333-deployer@bob,ci');
    expect(named('arn:aws:iam::111122223333:user/ops/carol')).toBe('fl-111122223333-carol');
    expect(named('arn:aws:sts::111122223333:assumed-role/sso/alice@example.com')).toBe('fl-111122223333-sso@alice=@example.com');
  });

  it('refuses a suffix that does not fit beside the caller, naming the room left', () => {
    const long = `arn:aws:sts::111122223333:assumed-role/deployer/${'x'.repeat(30)}`;
    expect(sessionNameFor(long, 'y'.repeat(20))).toEqual({ problem: expect.stringMatching(/^must be at most 8 characters for this caller/) });
  });

  const part = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', '-', '@', ',', '=', '.', '_'), minLength: 1, maxLength: max });
  const caller = fc.oneof(
    fc.tuple(fc.constantFrom('111122223333', '444455556666'), part(70)).map(([account, name]) => `arn:aws:iam::${account}:user/${name}`),
    fc.tuple(fc.constantFrom('111122223333', '444455556666'), part(70)).map(([account, name]) => `arn:aws:iam::${account}:role/${name}`),
    fc.tuple(fc.constantFrom('111122223333', '444455556666'), part(70), part(70)).map(([account, role, session]) => `arn:aws:sts::${account}:assumed-role/${role}/${session}`),
    fc.tuple(fc.constantFrom('111122223333', '444455556666'), part(40)).map(([account, name]) => `arn:aws:sts::${account}:federated-user/${name}`),
    fc.constantFrom('arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:root'),
  );
  const suffix = fc.option(part(32), { nil: undefined });

  it('gives every caller and suffix its own name, in the characters and length STS takes (property)', () => {
    fc.assert(
      fc.property(caller, suffix, caller, suffix, (a, sa, b, sb) => {
        const one = sessionNameFor(a, sa);
        const two = sessionNameFor(b, sb);
        for (const name of [one, two]) if (typeof name === 'string') expect(name).toMatch(STS_NAME);
        if (typeof one !== 'string' || typeof two !== 'string') return;
        if (a === b && sa === sb) expect(one).toBe(two);
        else expect(one, `${a} ${sa} / ${b} ${sb}`).not.toBe(two);
      }),
      { numRuns: 5000 },
    );
  });

  it('never refuses a caller its own name, only a suffix that does not fit (property)', () => {
    fc.assert(
      fc.property(caller, (a) => {
        expect(typeof sessionNameFor(a, undefined)).toBe('string');
      }),
    );
  });

  it("keeps hooks' sessions apart from every caller's and from each other's (property)", () => {
    const deploymentId = fc.stringMatching(/^d-[A-Z0-9]{9}$/);
    const instanceId = fc.string({ unit: fc.constantFrom('a', '1', '-', '.', '_'), minLength: 1, maxLength: 100 });
    fc.assert(
      fc.property(deploymentId, instanceId, deploymentId, instanceId, caller, suffix, (d1, i1, d2, i2, who, s) => {
        const one = hookSessionName(d1, i1);
        expect(one).toMatch(STS_NAME);
        if (d1 !== d2 || i1 !== i2) expect(one).not.toBe(hookSessionName(d2, i2));
        expect(one).not.toBe(sessionNameFor(who, s));
      }),
      { numRuns: 2000 },
    );
    expect(hookSessionName('d-ABCDEFGHI', 'web-1')).toBe('fl-d-ABCDEFGHI-web-1');
  });
});
