import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMultipartETag, unquoteETag as unquote } from '../lib/domain/etag.js';
import { BundleIntegrityError } from './archive.js';

export interface Expected {
  eTag?: string | undefined;
  size?: number | undefined;
  sha256?: string | undefined;
}


/**
 * Downloads the bundle through its presigned URL to `file` and verifies it
 * before anything is unpacked, by its content: size, the ETag when it is an MD5
 * (single-part uploads; the expected one, else the one S3 sent), and the
 * SHA-256 when known. A multipart ETag is no hash of the content:
 * without a SHA-256 beside it the bundle cannot be verified, and is refused.
 */
export async function downloadBundle(url: string, file: string, expected: Expected, maxBytes: number, signal?: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (error) {
    throw new Error(`could not download the bundle: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || !response.body) throw new Error(`could not download the bundle: HTTP ${response.status}`);
  await mkdir(dirname(file), { recursive: true });
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new BundleIntegrityError(`the bundle is larger than ${maxBytes} bytes`));
      md5.update(chunk);
      sha256.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), meter, createWriteStream(file), signal ? { signal } : {});

  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared !== size) {
    throw new BundleIntegrityError(`the bundle is truncated: ${size} of ${declared} bytes arrived`);
  }
  if (expected.size !== undefined && expected.size !== size) {
    throw new BundleIntegrityError(`the bundle is ${size} bytes; ${expected.size} were expected`);
  }
  const wantedTag = unquote(expected.eTag ?? response.headers.get('etag') ?? '');
  if (wantedTag && isMultipartETag(wantedTag) && !expected.sha256) {
    throw new BundleIntegrityError(`the bundle's ETag ${wantedTag} is a multipart upload's, which is no hash of its content, and no SHA-256 came with it: it cannot be verified`);
  }
  if (wantedTag && !isMultipartETag(wantedTag) && wantedTag !== md5.digest('hex')) {
    throw new BundleIntegrityError(`the bundle does not match its ETag ${wantedTag}`);
  }
  if (expected.sha256 && expected.sha256.toLowerCase() !== sha256.digest('hex')) {
    throw new BundleIntegrityError('the bundle does not match its SHA-256');
  }
}
