import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../lib/adapters/aws/clients.js';
import { LOCAL_EMULATOR_CREDENTIALS, emulatorCredentials } from '../../lib/adapters/aws/local-emulators.js';
import { createStsClient } from '../../lib/adapters/aws/sts-client.js';
import { StsCredentialIssuer } from '../../lib/adapters/aws/sts-issuer.js';
import { loadConfig } from '../../lib/config.js';
import { DependencyNotConfiguredError } from '../../lib/errors.js';
import { httpErrorHandler } from '../../lib/http/middleware/error-handler.js';

afterEach(() => vi.unstubAllEnvs());

describe('local mode: only the emulators get local keys', () => {
  it('gives the emulator keys to loopback endpoints only, never to a host that merely starts like one', () => {
    expect(emulatorCredentials('http://127.0.0.1:8000')).toEqual({ credentials: LOCAL_EMULATOR_CREDENTIALS });
    expect(emulatorCredentials('http://localhost:4569')).toEqual({ credentials: LOCAL_EMULATOR_CREDENTIALS });
    for (const endpoint of [undefined, '', 'not a url', 'https://dynamodb.eu-west-1.amazonaws.com', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example:8000', 'http://user@evil.example/127.0.0.1']) {
      expect(emulatorCredentials(endpoint)).toEqual({});
    }
    fc.assert(
      fc.property(fc.domain(), (host) => {
        fc.pre(host !== 'localhost');
        expect(emulatorCredentials(`https://${host}`)).toEqual({});
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the user own credentials for STS while DynamoDB and S3 on loopback get the emulator keys', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUSEROWNKEY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'user-secret');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://127.0.0.1:8000');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', 'http://127.0.0.1:4569');
    const clients = createAwsClients(loadConfig({ TABLE_NAME: 't', ARTIFACT_BUCKET: 'bucket' }));
    const [stsClient, s3Client] = [await createStsClient()(), await clients.s3()];
    const sts = await stsClient.config.credentials();
    const s3 = await s3Client.config.credentials();
    const dynamo = await clients.doc.config.credentials();
    expect(sts.accessKeyId).toBe('AKIAUSEROWNKEY');
    expect([s3.accessKeyId, dynamo.accessKeyId]).toEqual(['S3RVER', 'S3RVER']);
    for (const c of [stsClient, s3Client, clients.doc]) c.destroy();
  });
});

describe('without usable AWS credentials', () => {
  const sts = mockClient(STSClient);
  afterEach(() => sts.reset());
  const input = { roleArn: 'arn:aws:iam::111122223333:role/fleetline/x', sessionName: 's', sourceIdentity: 's', durationSeconds: 900, tags: [] };

  it('POST /credentials answers 503 naming what to configure, for missing and for refused keys', async () => {
    const named = (name: string) => Object.assign(new Error('Could not load credentials from any providers'), { name });
    sts.on(AssumeRoleCommand).rejectsOnce(named('CredentialsProviderError')).rejectsOnce(named('InvalidClientTokenId'));
    const issuer = new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }));
    const missing = await issuer.assumeRole(input).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DependencyNotConfiguredError);
    expect((missing as Error).message).toMatch(/no AWS credentials to call STS: set AWS_PROFILE/);
    const refused = await issuer.assumeRole(input).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/STS refused Fleetline's AWS credentials \(InvalidClientTokenId\)/);

    const request = { event: { requestContext: { requestId: 'r' } }, error: missing, response: undefined } as never as { response: { statusCode: number; body: string } };
    httpErrorHandler().onError?.(request as never);
    expect(request.response.statusCode).toBe(503);
    expect(JSON.parse(request.response.body).error).toEqual({ code: 'DependencyNotConfiguredError', message: (missing as Error).message });
  });

  it('any other failure is a 502 naming STS that shows nothing of its cause', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('socket hang up at 10.0.0.1'), { name: 'TimeoutError' }));
    const error = await new StsCredentialIssuer(new STSClient({ region: 'us-east-1' })).assumeRole(input).catch((e: unknown) => e);
    const request = { event: { requestContext: { requestId: 'r' } }, error, response: undefined } as never as { response: { statusCode: number; body: string } };
    httpErrorHandler().onError?.(request as never);
    expect(request.response.statusCode).toBe(502);
    expect(JSON.parse(request.response.body).error.message).toMatch(/^STS failed to assume .* \(TimeoutError\); retry later$/);
    expect(request.response.body).not.toContain('10.0.0.1');
  });
});
