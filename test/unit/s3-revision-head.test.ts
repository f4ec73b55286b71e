import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3AppspecReader } from '../../lib/adapters/aws/s3-appspec-reader.js';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());
const reader = new S3AppspecReader(new S3Client({ region: 'eu-west-1' }));
const revision = { bucket: 'artifacts', key: 'web/app.zip', version: 'v7', bundleType: 'zip' as const };
const failure = (status: number) =>
  new S3ServiceException({ name: status === 404 ? 'NotFound' : 'Forbidden', $fault: 'client', $metadata: { httpStatusCode: status } });

describe('HeadObject on a revision (the revision check)', () => {
  it('asks for the given version with checksums, and turns a full-object SHA-256 into hex', async () => {
    const digest = Buffer.alloc(32, 0xab);
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1234, ETag: '"e1"', ChecksumSHA256: digest.toString('base64'), ChecksumType: 'FULL_OBJECT' });
    expect(await reader.head(revision)).toEqual({ size: 1234, eTag: '"e1"', sha256: 'ab'.repeat(32) });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'artifacts', Key: 'web/app.zip', VersionId: 'v7', ChecksumMode: 'ENABLED' });
  });

  it('sends no SHA-256 for a composite (multipart) checksum, which is not the hash of the object', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 9, ETag: '"e2-3"', ChecksumSHA256: 'AAAA-3', ChecksumType: 'COMPOSITE' });
    expect(await reader.head(revision)).toEqual({ size: 9, eTag: '"e2-3"' });
  });

  it('names the version a versioned bucket holds, and none for an unversioned bucket ("null" once versioning was suspended)', async () => {
    s3.on(HeadObjectCommand).resolvesOnce({ ContentLength: 9, ETag: '"e3"', VersionId: 'Lg4.v2' }).resolvesOnce({ ContentLength: 9, ETag: '"e3"', VersionId: 'null' });
    expect(await reader.head(revision)).toEqual({ size: 9, eTag: '"e3"', versionId: 'Lg4.v2' });
    expect(await reader.head(revision)).toEqual({ size: 9, eTag: '"e3"' });
  });

  it('names a missing object or version, and one Fleetline may not read', async () => {
    s3.on(HeadObjectCommand).rejectsOnce(failure(404)).rejectsOnce(failure(403));
    expect(await reader.head(revision)).toEqual({ problem: 's3://artifacts/web/app.zip (version v7) does not exist' });
    expect(await reader.head(revision)).toEqual({ problem: expect.stringMatching(/cannot be read by Fleetline \(access denied\)/) });
  });
});
