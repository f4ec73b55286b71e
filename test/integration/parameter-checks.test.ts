import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configProblems } from '../../lib/config.js';
import { REQUIRED_PARAMS, runPackage } from '../support/packaged-template.js';
// @ts-expect-error: a plain CommonJS osls plugin, without types
import { parameterProblems } from '../../build/parameter-checks.cjs';

const problemsOf = (params: Record<string, string>): string[] =>
  parameterProblems({ createAgentRole: 'true', hookLogRetentionDays: '30', artifactBucket: 'fleetline-dev-artifacts', ...params }, configProblems);

describe('deploy parameters are checked before anything is packaged', () => {
  let dir: string;
  let failure: { code?: number; stdout: string; stderr: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetline-params-'));
    // An empty admin list packaged fine, and the API then failed at its first cold start.
    failure = await runPackage({ stage: 'test', dir, params: { agentAccounts: '1234', createAgentRole: 'yes' } }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error) => error,
    );
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails `osls package` naming every parameter that is empty or malformed, and how to set it', () => {
    expect(failure.code).not.toBe(0);
    const output = `${failure.stdout}\n${failure.stderr}`;
    expect(output).toContain('parameter adminPrincipals (ADMIN_PRINCIPALS) names no administrator');
    expect(output).toContain('parameter agentAccounts (AGENT_ACCOUNTS) must be comma-separated 12-digit AWS account IDs');
    expect(output).toContain('parameter createAgentRole must be true or false');
    expect(output).toContain('--param="<name>=<value>"');
    // It stopped before building anything.
    expect(output).not.toMatch(/Packaging .* done|api\.zip/);
  });

  it('takes the parameters a deployment needs', () => {
    expect(problemsOf(REQUIRED_PARAMS)).toEqual([]);
    expect(problemsOf({ ...REQUIRED_PARAMS, agentRoleNames: 'fleetline-prod-agent, legacy-agent', credentialAccounts: '444455556666' })).toEqual([]);
    expect(problemsOf({ ...REQUIRED_PARAMS, triggerTopicArns: '' })).toEqual([]);
    expect(problemsOf({ ...REQUIRED_PARAMS, triggerTopicArns: 'arn:aws:sns:eu-west-1:111122223333:deploys, arn:aws:sns:*:111122223333:team-*,arn:aws:sns:eu-west-1:111122223333:d.fifo' })).toEqual([]);
  });

  it('names the parameter for each malformed value, the rule being the functions\' own', () => {
    const cases: [Record<string, string>, string][] = [
      [{ adminPrincipals: '*' }, 'parameter adminPrincipals (ADMIN_PRINCIPALS) must be comma-separated IAM principal ARN patterns'],
      [{ adminPrincipals: 'arn:aws:iam::111122223333:role/a,' }, 'parameter adminPrincipals'],
      [{ agentAccounts: '' }, 'parameter agentAccounts (AGENT_ACCOUNTS) names no account'],
      [{ credentialAccounts: '11112222333' }, 'parameter credentialAccounts (CREDENTIAL_ACCOUNTS)'],
      [{ agentRoleNames: '' }, 'parameter agentRoleNames (AGENT_ROLE_NAMES) must name at least one IAM role'],
      [{ agentRoleNames: 'role/with/path' }, 'parameter agentRoleNames (AGENT_ROLE_NAMES) must be comma-separated IAM role names'],
      [{ artifactBucket: 'My_Bucket' }, 'parameter artifactBucket (ARTIFACT_BUCKET) must be an S3 bucket name'],
      [{ assumableRolePath: 'fleetline' }, 'parameter assumableRolePath (ASSUMABLE_ROLE_PATH)'],
      [{ hookLogRetentionDays: '0' }, 'parameter hookLogRetentionDays must be a whole number of days'],
      [{ createAgentRole: '' }, 'parameter createAgentRole must be true or false'],
      [{ triggerTopicArns: '*' }, 'parameter triggerTopicArns (TRIGGER_TOPIC_ARNS) must be comma-separated SNS topic ARNs'],
      [{ triggerTopicArns: 'arn:aws:sns:eu-west-1:*:deploys' }, 'parameter triggerTopicArns (TRIGGER_TOPIC_ARNS)'],
      [{ triggerTopicArns: 'arn:aws:sqs:eu-west-1:111122223333:deploys' }, 'parameter triggerTopicArns (TRIGGER_TOPIC_ARNS)'],
      [{ triggerTopicArns: 'arn:aws:sns:eu-west-1:111122223333:a,' }, 'parameter triggerTopicArns (TRIGGER_TOPIC_ARNS)'],
    ];
    for (const [params, expected] of cases) {
      const problems = problemsOf({ ...REQUIRED_PARAMS, ...params });
      expect(problems, JSON.stringify(params)).toEqual([expect.stringContaining(expected)]);
    }
  });

  it('refuses any account list with an entry that is not 12 digits', () => {
    const entry = fc.oneof(fc.stringMatching(/^\d{12}$/), fc.string({ minLength: 1, maxLength: 14 }));
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), (entries) => {
        const valid = entries.every((e) => /^\s*\d{12}\s*$/.test(e));
        const problems = problemsOf({ ...REQUIRED_PARAMS, agentAccounts: entries.join(',') });
        expect(problems.some((p) => p.startsWith('parameter agentAccounts')), entries.join(',')).toBe(!valid);
      }),
    );
  });
});
