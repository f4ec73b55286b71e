import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/errors.js';

describe('configuration at cold start', () => {
  it('reads the table, bucket and stage', () => {
    expect(loadConfig({ TABLE_NAME: 'fleetline-dev', ARTIFACT_BUCKET: 'fleetline-dev-artifacts', STAGE: 'dev' })).toEqual({
      tableName: 'fleetline-dev',
      artifactBucket: 'fleetline-dev-artifacts',
      stage: 'dev',
    });
  });

  it('names every missing variable in one clear error', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/TABLE_NAME.*ARTIFACT_BUCKET/);
  });
});
