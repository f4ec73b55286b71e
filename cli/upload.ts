import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_EMULATOR_CREDENTIALS } from '../lib/adapters/aws/local-emulators.js';
import { type Target, UsageError } from './api.js';
import { zipFolder } from './bundle.js';

const TYPES: Record<string, 'zip' | 'tar' | 'tgz'> = { '.zip': 'zip', '.tar': 'tar', '.tgz': 'tgz', '.gz': 'tgz' };

/**
 * Puts a bundle (a folder, zipped here, or an archive file) into the artifact
 * bucket under <app>/deploy/ (the application's default revision source), with no
 * file extension so a pipeline watching <app>/*.zip does not start on it (the
 * bundle type travels in the revision), and
 * returns the revision to deploy. The local stack's S3 takes its fixed keys;
 * AWS takes the default credential chain.
 */
export async function uploadBundle(target: Target, path: string, app: string, bucketFlag: string | undefined): Promise<Record<string, string>> {
  const bucket = bucketFlag ?? process.env.FLEETLINE_BUCKET ?? target.local?.bucket;
  if (!bucket) throw new UsageError('No artifact bucket: pass --bucket or set FLEETLINE_BUCKET');
  const isDir = (await lstat(path)).isDirectory();
  const body = isDir ? await zipFolder(path) : await readFile(path);
  const bundleType = isDir ? 'zip' : TYPES[extname(path).toLowerCase()];
  if (!bundleType) throw new UsageError(`${path}: a bundle file must be .zip, .tar or .tgz`);
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const stem = basename(path.replace(/\/+$/, '')).replace(/\.(zip|tar|tgz|tar\.gz)$/i, '') || 'bundle';
  const key = `${app}/deploy/${digest}-${stem}`;
  const s3 = target.local
    ? new S3Client({ endpoint: target.local.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_EMULATOR_CREDENTIALS })
    : new S3Client(target.region ? { region: target.region } : {});
  try {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return { bucket, key, bundleType, ...(put.VersionId ? { version: put.VersionId } : {}), ...(put.ETag ? { eTag: put.ETag.replace(/"/g, '') } : {}) };
  } finally {
    s3.destroy();
  }
}
