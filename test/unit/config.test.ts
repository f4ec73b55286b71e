import { describe, expect, it } from 'vitest';
import { loadConfig, requireApiSettings } from '../../lib/config.js';
import { ConfigError } from '../../lib/errors.js';

describe('configuration at cold start', () => {
  it('reads the table, bucket and stage', () => {
    expect(loadConfig({ TABLE_NAME: 'fleetline-dev', ARTIFACT_BUCKET: 'fleetline-dev-artifacts', STAGE: 'dev' })).toEqual({
      tableName: 'fleetline-dev',
      artifactBucket: 'fleetline-dev-artifacts',
      stage: 'dev',
      agentRoleNames: ['fleetline-agent'],
      agentAccounts: [],
      credentialAccounts: [],
      partition: 'aws',
      s3ForcePathStyle: false,
      timings: { leaseSeconds: 90, startTimeoutSeconds: 300, pollIntervalSeconds: 10 },
      adminPrincipals: [],
      assumableRolePath: '/fleetline/',
      minimumAgentVersion: '0.2.0',
      triggerTopicArns: [],
    });
  });

  it('takes the SNS topics triggers may publish to, none by default, and refuses anything but topic ARNs in one account', () => {
    const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' };
    expect(loadConfig({ ...base, TRIGGER_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:111122223333:deploys, arn:aws:sns:*:111122223333:team-*' }).triggerTopicArns).toEqual([
      'arn:aws:sns:eu-west-1:111122223333:deploys',
      'arn:aws:sns:*:111122223333:team-*',
    ]);
    for (const bad of ['*', 'arn:aws:sns:*:*:*', 'arn:aws:sqs:eu-west-1:111122223333:q', 'arn:aws:sns:eu-west-1:111122223333:a/b']) {
      expect(() => loadConfig({ ...base, TRIGGER_TOPIC_ARNS: bad }), bad).toThrow(/TRIGGER_TOPIC_ARNS: must be comma-separated SNS topic ARNs/);
    }
  });

  it('refuses to run the API without an administrator or without the accounts whose agents it trusts', () => {
    const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket', AGENT_ACCOUNTS: '111122223333' };
    expect(() => requireApiSettings(loadConfig(base))).toThrow(/ADMIN_PRINCIPALS names no administrator/);
    const admins = { ...base, ADMIN_PRINCIPALS: 'arn:aws:iam::1:role/a' };
    expect(() => requireApiSettings(loadConfig({ ...admins, AGENT_ACCOUNTS: '' }))).toThrow(/AGENT_ACCOUNTS names no account/);
    expect(() => loadConfig({ ...admins, AGENT_ACCOUNTS: '1234, *' })).toThrow(/AGENT_ACCOUNTS: must be comma-separated 12-digit AWS account IDs/);
    expect(loadConfig({ ...admins, AGENT_ACCOUNTS: '111122223333, 444455556666' }).agentAccounts).toEqual(['111122223333', '444455556666']);
    expect(requireApiSettings(loadConfig({ ...base, ADMIN_PRINCIPALS: 'arn:aws:iam::1:role/a, arn:aws:iam::1:role/b' })).adminPrincipals).toEqual([
      'arn:aws:iam::1:role/a',
      'arn:aws:iam::1:role/b',
    ]);
  });

  it('takes a wss:// channel URL (ws:// only to a loopback host) and refuses any other at cold start', () => {
    const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' };
    expect(loadConfig(base).channelUrl).toBeUndefined();
    expect(loadConfig({ ...base, CHANNEL_URL: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod' }).channelUrl).toBe('wss://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    expect(loadConfig({ ...base, CHANNEL_URL: 'ws://127.0.0.1:3000/channel' }).channelUrl).toBe('ws://127.0.0.1:3000/channel');
    for (const bad of ['ws://channel.example.com/prod', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', 'wss://user:pw@example.com/x', '', 'not a url']) {
      expect(() => loadConfig({ ...base, CHANNEL_URL: bad }), bad).toThrow(/CHANNEL_URL: must be a wss:\/\/ URL/);
    }
  });

  it('reads agent role names as a list and rejects a lease outside its range', () => {
    const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' };
    expect(loadConfig({ ...base, AGENT_ROLE_NAMES: 'a, b' }).agentRoleNames).toEqual(['a', 'b']);
    expect(() => loadConfig({ ...base, AGENT_LEASE_SECONDS: '5' })).toThrow(/AGENT_LEASE_SECONDS/);
  });

  it('names every missing variable in one clear error', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/TABLE_NAME.*ARTIFACT_BUCKET/);
  });
});
