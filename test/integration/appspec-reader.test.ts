import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { S3AppspecReader, s3Failure } from '../../lib/adapters/aws/s3-appspec-reader.js';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { tgzBundle, zipBundle } from '../support/bundles.js';

const s3 = new S3Client({ region: 'us-east-1', endpoint: inject('s3Endpoint'), credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
afterAll(() => s3.destroy());
const reader = new S3AppspecReader(s3);
const Bucket = 'fleetline-test-artifacts';
const big = 'x'.repeat(200_000);

async function put(Key: string, Body: Buffer) {
  await s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  return { bucket: Bucket, key: Key };
}

describe('reading appspec.yml from a bundle in S3 (preflight)', () => {
  it('finds it at the root of a zip, reading ranges around a large file', async () => {
    const rev = await put('r/root.zip', await zipBundle([{ path: 'big.bin', content: big }, { path: 'appspec.yml', content: 'version: 0.0\n' }]));
    expect(await reader.read({ ...rev, bundleType: 'zip' })).toEqual({ appspec: 'version: 0.0\n', appspecPath: 'appspec.yml', files: ['big.bin', 'appspec.yml'] });
  });

  it('finds it inside a single top folder', async () => {
    const rev = await put('r/folder.zip', await zipBundle([{ path: 'app/appspec.yml', content: 'os: linux\n' }, { path: 'app/x.sh', content: '' }]));
    expect(await reader.read({ ...rev, bundleType: 'zip' })).toEqual({ appspec: 'os: linux\n', appspecPath: 'app/appspec.yml', files: ['appspec.yml', 'x.sh'] });
  });

  it('streams a tgz until it finds it at the root', async () => {
    const rev = await put('r/b.tgz', await tgzBundle([{ path: 'appspec.yml', content: 'version: 0.0\n' }, { path: 'site/big', content: big }]));
    // The rest of the archive is not read, so the files are not known (the install plan is checked by the agent).
    expect(await reader.read({ ...rev, bundleType: 'tgz' })).toEqual({ appspec: 'version: 0.0\n', appspecPath: 'appspec.yml' });
  });

  it('says so when there is none, or when the object is not an archive', async () => {
    const none = await put('r/none.zip', await zipBundle([{ path: 'deep/er/appspec.yml', content: 'x' }]));
    expect(await reader.read({ ...none, bundleType: 'zip' })).toEqual({ problem: expect.stringMatching(/^the bundle has no appspec.yml \(nor appspec.yaml\) at its root/) });
    const junk = await put('r/junk.tgz', Buffer.from('not an archive at all'));
    expect(await reader.read({ ...junk, bundleType: 'tgz' })).toEqual({ problem: expect.stringMatching(/could not be read/) });
  });

  it('fails, to be tried again, when S3 cannot be reached, instead of calling the bundle unreadable', async () => {
    const rev = await put('r/reachable.zip', await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\n' }]));
    const unreachable = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: LOCAL_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
    try {
      await expect(new S3AppspecReader(unreachable).read({ ...rev, bundleType: 'zip' })).rejects.toThrow(/^S3 failed while reading the bundle s3:\/\/fleetline-test-artifacts\/r\/reachable.zip; retry later$/);
      await expect(new S3AppspecReader(unreachable).read({ ...rev, bundleType: 'tgz' })).rejects.toThrow();
    } finally {
      unreachable.destroy();
    }
  });


  it('tells a passing S3 failure (tried again) from a refusal no retry changes (the bundle is unreadable for good)', () => {
    const answered = (httpStatusCode: number) => Object.assign(new Error('S3 error'), { $metadata: { httpStatusCode } });
    expect([503, 500, 429].map((status) => s3Failure(answered(status)))).toEqual(['passing', 'passing', 'passing']);
    expect([416, 403, 404].map((status) => s3Failure(answered(status)))).toEqual([416, 403, 404]);
    expect(s3Failure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('passing');
    expect(s3Failure(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toBe('passing');
    // The archive's own faults: yauzl's and zlib's errors carry no S3 answer and no system error code.
    expect(s3Failure(new Error('invalid central directory file header signature'))).toBeUndefined();
    expect(s3Failure(Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR' }))).toBeUndefined();
  });
});
