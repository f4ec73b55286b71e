import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { MAX_APPSPEC_BYTES } from '../../domain/appspec.js';
import { APPSPEC_NAME, APPSPEC_NAMES, locateAppspec, normaliseEntryPath } from '../../domain/appspec-location.js';
import type { Revision } from '../../domain/deployment.js';
import type { AppspecRead, AppspecSource, RevisionObject } from '../../ports.js';
import { DependencyError } from '../../errors.js';

/** An entry that may be the bundle's appspec: at the root or one folder down (locateAppspec decides). */
const isCandidate = (path: string) => {
  const parts = normaliseEntryPath(path).split('/');
  return parts.length <= 2 && (APPSPEC_NAMES as readonly string[]).includes(parts.at(-1) as string);
};

/** Reads zip byte ranges from S3, so only the central directory and appspec.yml are fetched. */
class S3RangeReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly s3: S3Client,
    private readonly revision: Revision,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    const { bucket, key, version } = this.revision;
    this.s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: version, Range: `bytes=${start}-${end - 1}` }))
      .then((res) => (res.Body as Readable).pipe(out))
      .catch((error) => out.destroy(error as Error));
    return out;
  }
}

async function streamText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_APPSPEC_BYTES) throw new Error(`appspec.yml is larger than ${MAX_APPSPEC_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Finds and reads appspec.yml in a bundle in S3 without downloading the whole of it. */
export class S3AppspecReader implements AppspecSource {
  constructor(private readonly s3: S3Client) {}

  async head(revision: Revision): Promise<RevisionObject | { problem: string }> {
    const where = `s3://${revision.bucket}/${revision.key}${revision.version ? ` (version ${revision.version})` : ''}`;
    try {
      const head = await this.s3.send(
        new HeadObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version, ChecksumMode: 'ENABLED' }),
      );
      return {
        size: Number(head.ContentLength ?? 0),
        eTag: head.ETag ?? '',
        ...(head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE' ? { sha256: Buffer.from(head.ChecksumSHA256, 'base64').toString('hex') } : {}),
        // An unversioned bucket names no version (or "null", after versioning was suspended).
        ...(head.VersionId && head.VersionId !== 'null' ? { versionId: head.VersionId } : {}),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return { problem: `${where} does not exist` };
      if (status === 403) return { problem: `${where} cannot be read by Fleetline (access denied)` };
      if (status === 400 && revision.version) return { problem: `${where}: the version ID is not valid for this object` };
      throw error;
    }
  }

  async sha256(revision: Revision): Promise<{ sha256: string } | { problem: string }> {
    const where = `s3://${revision.bucket}/${revision.key}`;
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version, IfMatch: revision.eTag }),
      );
      const hash = createHash('sha256');
      for await (const chunk of res.Body as AsyncIterable<Buffer>) hash.update(chunk);
      return { sha256: hash.digest('hex') };
    } catch (error) {
      const s3 = s3Failure(error);
      if (s3 === 412) return { problem: `${where} changed while it was being checked (its ETag is no longer ${revision.eTag}): deploy it again` };
      if (s3 === 'passing') throw new DependencyError(`S3 failed while reading the bundle ${where}; retry later`);
      if (s3 !== undefined) return { problem: `the bundle ${where} could not be read: S3 refused it (HTTP ${s3})` };
      throw error;
    }
  }

  async read(revision: Revision): Promise<AppspecRead | { problem: string }> {
    try {
      return revision.bundleType === 'zip' ? await this.fromZip(revision) : await this.fromTar(revision);
    } catch (error) {
      // S3, or the way to it, failed, not the bundle: thrown, so that the read is tried again (and S3's
      // or the network's own words never reach the execution). What is left is the archive's own fault.
      const s3 = s3Failure(error);
      if (s3 === 'passing') throw new DependencyError(`S3 failed while reading the bundle s3://${revision.bucket}/${revision.key}; retry later`);
      if (s3 !== undefined) return { problem: `the ${revision.bundleType} bundle could not be read: S3 refused a read of it (HTTP ${s3})` };
      return { problem: `the ${revision.bundleType} bundle could not be read: ${(error as Error).message}` };
    }
  }

  private async fromZip(revision: Revision): Promise<AppspecRead | { problem: string }> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version }));
    const zip = await yauzl.fromRandomAccessReaderPromise(new S3RangeReader(this.s3, revision), Number(head.ContentLength ?? 0), {
      lazyEntries: true,
      autoClose: false,
    });
    try {
      return await this.appspecFromZip(zip);
    } finally {
      zip.close();
    }
  }

  private async appspecFromZip(zip: yauzl.ZipFile): Promise<AppspecRead | { problem: string }> {
    const files: string[] = [];
    const dirs: string[] = [];
    const candidates = new Map<string, yauzl.Entry>();
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) dirs.push(entry.fileName);
        else {
          files.push(entry.fileName);
          if (isCandidate(entry.fileName)) candidates.set(normaliseEntryPath(entry.fileName), entry);
        }
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
    const location = locateAppspec(files, dirs);
    if ('problem' in location) return location;
    const entry = candidates.get(location.appspecPath) as yauzl.Entry;
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err || !s ? reject(err ?? new Error('unreadable entry')) : resolve(s))),
    );
    const inRoot = files.map(normaliseEntryPath).filter((f) => f.startsWith(location.root)).map((f) => f.slice(location.root.length));
    return { appspec: await streamText(stream), appspecPath: location.appspecPath, files: inRoot };
  }

  /**
   * Streams a tar: appspec.yml at the root ends the read at once (it always
   * wins); one in a folder is kept until the end shows there is no root one.
   */
  private async fromTar(revision: Revision): Promise<AppspecRead | { problem: string }> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version }));
    const body = res.Body as Readable;
    const files: string[] = [];
    const dirs: string[] = [];
    const texts = new Map<string, Promise<string>>();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (answer: Promise<AppspecRead | { problem: string }>) => {
        if (done) return;
        done = true;
        answer.then(resolve, reject);
      };
      const parser = new tar.Parser({
        strict: true,
        onReadEntry: (entry) => {
          const path = normaliseEntryPath(entry.path);
          if (entry.type !== 'File' && entry.type !== 'OldFile') {
            if (entry.type === 'Directory') dirs.push(path);
            entry.resume();
            return;
          }
          files.push(path);
          // At most the root's appspec.yaml and the first folder's candidates are kept: a folder is the root
          // only when it is the archive's only entry, so a second folder's appspec is never the one.
          const folder = path.includes('/') ? path.split('/')[0] : undefined;
          const otherFolder = folder !== undefined && [...texts.keys()].some((k) => k.includes('/') && !k.startsWith(`${folder}/`));
          if (done || !isCandidate(path) || texts.has(path) || otherFolder) {
            entry.resume();
            return;
          }
          const text = streamText(entry as unknown as Readable);
          texts.set(path, text);
          text.catch(() => undefined);
          if (path === APPSPEC_NAME) {
            finish(text.then((appspec) => ({ appspec, appspecPath: APPSPEC_NAME })));
            text.finally(() => body.destroy()); // the rest of the bundle is not needed
          }
        },
      });
      parser.on('end', () => {
        const location = locateAppspec(files, dirs);
        if ('problem' in location) return finish(Promise.resolve(location));
        const inRoot = files.filter((f) => f.startsWith(location.root)).map((f) => f.slice(location.root.length));
        finish((texts.get(location.appspecPath) ?? Promise.reject(new Error('the appspec vanished'))).then((appspec) => ({ appspec, appspecPath: location.appspecPath, files: inRoot })));
      });
      parser.on('error', (error) => (done ? undefined : reject(error)));
      const source = revision.bundleType === 'tgz' ? body.pipe(createGunzip()) : body;
      source.on('error', (error) => (done ? undefined : reject(error)));
      source.pipe(parser as unknown as NodeJS.WritableStream);
    });
  }
}

/**
 * How S3 failed a read, if it did: `passing` when it, or the way to it, failed
 * (a 5xx, throttling, no answer at all: worth another try), else the status of
 * its refusal (a 4xx: a range past the end of a broken archive, a key the role
 * may not use), which no retry changes. Undefined for the archive's own faults.
 */
export function s3Failure(error: unknown): 'passing' | number | undefined {
  const e = error as { $metadata?: { httpStatusCode?: number }; code?: unknown; name?: unknown };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 ? 'passing' : status;
  if (e?.$metadata !== undefined || (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) || e?.name === 'TimeoutError') return 'passing';
  return undefined;
}
