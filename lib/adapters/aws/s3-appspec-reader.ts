import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { MAX_APPSPEC_BYTES } from '../../domain/appspec.js';
import type { Revision } from '../../domain/deployment.js';
import type { AppspecSource } from '../../ports.js';

/** appspec.yml at the bundle root, or inside a single top folder (as CodeDeploy accepts). */
const APPSPEC_PATH = /^(\.\/)?([^/]+\/)?appspec\.yml$/;

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

  async read(revision: Revision): Promise<{ appspec: string } | { problem: string }> {
    try {
      return revision.bundleType === 'zip' ? await this.fromZip(revision) : await this.fromTar(revision);
    } catch (error) {
      return { problem: `the ${revision.bundleType} bundle could not be read: ${(error as Error).message}` };
    }
  }

  private async fromZip(revision: Revision): Promise<{ appspec: string } | { problem: string }> {
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

  private async appspecFromZip(zip: yauzl.ZipFile): Promise<{ appspec: string } | { problem: string }> {
    const candidates: yauzl.Entry[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (APPSPEC_PATH.test(entry.fileName)) candidates.push(entry);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
    const entry = candidates.sort((a, b) => a.fileName.length - b.fileName.length)[0];
    if (!entry) return { problem: 'the bundle has no appspec.yml at its root' };
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err || !s ? reject(err ?? new Error('unreadable entry')) : resolve(s))),
    );
    return { appspec: await streamText(stream) };
  }

  private async fromTar(revision: Revision): Promise<{ appspec: string } | { problem: string }> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: revision.bucket, Key: revision.key, VersionId: revision.version }));
    const body = res.Body as Readable;
    return new Promise((resolve, reject) => {
      let found = false;
      const parser = new tar.Parser({
        strict: true,
        onReadEntry: (entry) => {
          if (found || !APPSPEC_PATH.test(entry.path)) {
            entry.resume();
            return;
          }
          found = true;
          streamText(entry as unknown as Readable).then((appspec) => {
            body.destroy(); // the rest of the bundle is not needed
            resolve({ appspec });
          }, reject);
        },
      });
      parser.on('end', () => {
        if (!found) resolve({ problem: 'the bundle has no appspec.yml at its root' });
      });
      parser.on('error', reject);
      const source = revision.bundleType === 'tgz' ? body.pipe(createGunzip()) : body;
      source.on('error', (error) => (found ? undefined : reject(error)));
      source.pipe(parser as unknown as NodeJS.WritableStream);
    });
  }
}
