import { describe, expect, it } from 'vitest';
import { loadConfig, requireAdmins } from '../../lib/config.js';
import { ConfigError } from '../../lib/errors.js';

describe('configuration at cold start', () => {
  it('reads the table, bucket and stage', () => {
    expect(loadConfig({ TABLE_NAME: 'fleetline-dev', ARTIFACT_BUCKET: 'fleetline-dev-artifacts', STAGE: 'dev' })).toEqual({
      tableName: 'fleetline-dev',
      artifactBucket: 'fleetline-dev-artifacts',
      stage: 'dev',
      agentRoleNames: ['fleetline-agent'],
      s3ForcePathStyle: false,
      timings: { leaseSeconds: 90, startTimeoutSeconds: 300, pollIntervalSeconds: 10 },
      adminPrincipals: [],
      assumableRolePath: '/fleetline/',
    });
  });

  it('refuses to run the API without an administrator', () => {
    const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' };
    expect(() => requireAdmins(loadConfig(base))).toThrow(/ADMIN_PRINCIPALS names no administrator/);
    expect(requireAdmins(loadConfig({ ...base, ADMIN_PRINCIPALS: 'arn:aws:iam::1:role/a, arn:aws:iam::1:role/b' })).adminPrincipals).toEqual([
      'arn:aws:iam::1:role/a',
      'arn:aws:iam::1:role/b',
    ]);
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
