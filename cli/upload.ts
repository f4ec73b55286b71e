import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { emulatorCredentials } from '../lib/adapters/aws/local-emulators.js';
import { API_VERSION, type ClientConfig } from '../lib/domain/client-config.js';
import { type FleetlineApi, UsageError } from './api.js';
import { archiveType, zipFolder } from './bundle.js';

/** Parts of a multipart upload: S3's minimum is 5 MiB; two in flight bound memory to a few parts. */
export const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

export interface ArtifactStore {
  bucket: string;
  s3: S3Client;
}

export interface UploadedRevision {
  bucket: string;
  key: string;
  bundleType: 'zip' | 'tar' | 'tgz';
  version?: string;
  eTag?: string;
}

/**
 * Where `deploy --bundle` uploads: --bucket or FLEETLINE_BUCKET if given, the
 * local stack's bucket when the API is the local stack found on disk, else
 * what the API itself says (GET /config: bucket, region, and in local mode its
 * S3 emulator), so `--api URL` is all the CLI needs. AWS takes the default
 * credential chain; a loopback endpoint takes the emulator's keys.
 */
export async function artifactStore(api: FleetlineApi, bucketFlag: string | undefined): Promise<ArtifactStore> {
  const local = api.target.local;
  let bucket = bucketFlag || process.env.FLEETLINE_BUCKET || local?.bucket;
  let endpoint = local?.s3Endpoint;
  let region = api.target.region;
  if (!bucket || (!local && !region)) {
    const config: ClientConfig = await api.call('getConfig', {});
    if (config.apiVersion !== API_VERSION) {
      throw new UsageError(`${api.target.apiUrl} speaks API version ${config.apiVersion}; this fleetline speaks ${API_VERSION}: use the CLI of the same release`);
    }
    bucket ??= config.artifactBucket;
    region ??= config.region ?? undefined;
    endpoint ??= config.s3Endpoint;
  }
  const s3 = endpoint
    ? new S3Client({ endpoint, region: region ?? 'us-east-1', forcePathStyle: true, ...emulatorCredentials(endpoint) })
    : new S3Client(region ? { region } : {});
  return { bucket, s3 };
}

/** The object key: under <app>/deploy/ (the application's default revision source), named after the bundle. */
export function bundleKey(app: string, path: string): string {
  // `.` and `dir/` name a folder: its own name, not what was typed.
  const name = basename(resolve(path)).replace(/\.(zip|tar|tgz|tar\.gz)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return `${app}/deploy/${randomBytes(6).toString('hex')}-${name || 'bundle'}`;
}

/**
 * Streams a bundle (a folder, zipped as it is read, or an archive file) into
 * the artifact bucket with no file extension, so a pipeline watching
 * <app>/*.zip does not start on it (the bundle type travels in the revision).
 * A bundle larger than one part goes as a multipart upload, a part at a time,
 * so memory stays bounded whatever its size; a failed upload is aborted and
 * leaves nothing behind. `progress` hears the bytes sent so far.
 */
export async function uploadBundle(
  store: ArtifactStore,
  path: string,
  app: string,
  progress: (sent: number, total: number | undefined) => void = () => undefined,
): Promise<UploadedRevision> {
  const isDir = (await lstat(path)).isDirectory();
  const bundleType = isDir ? 'zip' : archiveType(path);
  if (!bundleType) throw new UsageError(`${path}: a bundle file must be .zip, .tar, .tgz or .tar.gz`);
  const source: { stream: Readable; total: number | undefined } = isDir
    ? { stream: (await zipFolder(path)).stream, total: undefined }
    : { stream: createReadStream(path, { highWaterMark: 1024 * 1024 }), total: (await lstat(path)).size };
  const key = bundleKey(app, path);
  const { bucket, s3 } = store;

  let uploadId: string | undefined;
  const parts: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let failure: unknown;
  const sendPart = (body: Buffer, partNumber: number) => {
    const done = s3
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }))
      .then((answer) => {
        parts.push({ PartNumber: partNumber, ETag: answer.ETag as string });
        sent += body.length;
        progress(sent, source.total);
      })
      .catch((error) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let partNumber = 0;
    for await (const chunk of source.stream) {
      pending.push(chunk as Buffer);
      pendingBytes += (chunk as Buffer).length;
      if (pendingBytes < PART_BYTES) continue;
      const body = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      uploadId ??= (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId;
      sendPart(body, ++partNumber);
      while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) throw failure;
    }
    const last = Buffer.concat(pending);
    if (uploadId === undefined) {
      // Smaller than one part: a single PUT.
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: last }));
      progress(last.length, source.total);
      return revisionOf(bucket, key, bundleType, put.VersionId, put.ETag);
    }
    if (last.length > 0) sendPart(last, ++partNumber);
    await Promise.all(inFlight);
    if (failure) throw failure;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    uploadId = undefined;
    return revisionOf(bucket, key, bundleType, done.VersionId, done.ETag);
  } catch (error) {
    source.stream.destroy();
    await Promise.allSettled(inFlight);
    if (uploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/** Removes an uploaded bundle nothing will deploy (the deployment was refused). */
export async function removeBundle(store: ArtifactStore, revision: UploadedRevision): Promise<void> {
  await store.s3.send(new DeleteObjectCommand({ Bucket: revision.bucket, Key: revision.key, ...(revision.version ? { VersionId: revision.version } : {}) }));
}

function revisionOf(bucket: string, key: string, bundleType: UploadedRevision['bundleType'], version?: string, eTag?: string): UploadedRevision {
  return { bucket, key, bundleType, ...(version ? { version } : {}), ...(eTag ? { eTag: eTag.replace(/"/g, '') } : {}) };
}
