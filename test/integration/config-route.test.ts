import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { API_VERSION } from '../../lib/domain/client-config.js';
import { useApi } from '../support/api-harness.js';

/** GET /config: what the CLI needs besides the API's URL, for callers who may deploy, and nothing for anyone else. */
const api = useApi(() => ({ region: 'eu-west-1', channelUrl: 'wss://channel.example.com/prod' }));
const DEPLOYER = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const READER = 'arn:aws:sts::111122223333:assumed-role/reader/carol';

describe('GET /config', () => {
  it('tells a caller who may deploy somewhere the artifact bucket, region, channel and API version', async () => {
    await api.call('PUT', '/access-rules/deployers', {
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/deployer'], actions: ['deployments:create'], resources: ['application/web/group/*'] },
    });
    const res = await api.call('GET', '/config', { principal: DEPLOYER });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ apiVersion: API_VERSION, artifactBucket: 'fleetline-test-artifacts', region: 'eu-west-1', channelUrl: 'wss://channel.example.com/prod' });
  });

  it('refuses a caller who may not deploy anywhere, and an unsigned one', async () => {
    await api.call('PUT', '/access-rules/readers', {
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/reader'], actions: ['deployments:get', 'deployments:list'], resources: ['*'] },
    });
    const res = await api.call('GET', '/config', { principal: READER });
    expect([res.status, res.body.error.code]).toEqual([403, 'ForbiddenError']);
    expect(JSON.stringify(res.body)).not.toContain('fleetline-test-artifacts');
    const unsigned = await api.call('GET', '/config', { principal: null });
    expect(unsigned.status).toBe(401);
  });

  it('takes no body', async () => {
    expect((await api.call('GET', '/config', { body: {} })).status).toBe(400);
  });
});

describe('the S3 endpoint GET /config may name', () => {
  const base = { TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' };
  it('is only ever a loopback emulator (local mode), never an endpoint configured in AWS', () => {
    expect(loadConfig({ ...base, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569' }).localS3Endpoint).toBe('http://127.0.0.1:4569');
    for (const endpoint of ['https://s3.eu-west-1.amazonaws.com', 'http://127.0.0.1.example.com:4569', 'not a url']) {
      expect(loadConfig({ ...base, AWS_ENDPOINT_URL_S3: endpoint }).localS3Endpoint).toBeUndefined();
    }
    expect(loadConfig(base).localS3Endpoint).toBeUndefined();
  });
});
