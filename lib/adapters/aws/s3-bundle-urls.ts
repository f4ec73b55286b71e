import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { logObjectKey } from '../../domain/artifact-location.js';
import type { Revision } from '../../domain/deployment.js';
import type { BundleUrls } from '../../ports.js';

const URL_LIFETIME_SECONDS = 3600;

/** Presigned URLs: agents download bundles and upload full logs without S3 permissions of their own. */
export class S3BundleUrls implements BundleUrls {
  constructor(
    private readonly s3: S3Client,
    private readonly logBucket: string,
  ) {}

  bundleDownloadUrl(revision: Revision): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version }),
      { expiresIn: URL_LIFETIME_SECONDS },
    );
  }

  logUploadUrl(deploymentId: string, instanceId: string): Promise<string> {
    return getSignedUrl(
      this.s3,
      new PutObjectCommand({ Bucket: this.logBucket, Key: logObjectKey(deploymentId, instanceId), ContentType: 'text/plain; charset=utf-8' }),
      { expiresIn: URL_LIFETIME_SECONDS },
    );
  }

  logDownloadUrl(deploymentId: string, instanceId: string): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.logBucket, Key: logObjectKey(deploymentId, instanceId) }), {
      expiresIn: URL_LIFETIME_SECONDS,
    });
  }
}
