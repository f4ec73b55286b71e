import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import yazl from 'yazl';

export interface BundleFile {
  path: string;
  content: string;
  mode?: number;
  /** Make a symlink to this target instead of a file. */
  symlinkTo?: string;
}

/**
 * A zip bundle in memory, entries exactly as given. yazl refuses hostile names
 * such as `../x`, so those are written under a harmless name of the same length
 * and then patched in place, as an attacker's tool would write them.
 */
export async function zipBundle(files: BundleFile[]): Promise<Buffer> {
  const hostile = files.map((f) => f.path).filter((p) => p.startsWith('/') || p.split('/').includes('..'));
  const safeName = (p: string) => p.replace(/[./]/g, (c, i) => (hostile.includes(p) && i < p.lastIndexOf('/') + 1 ? 'X' : c));
  const buffer = await buildZip(files.map((f) => ({ ...f, path: hostile.includes(f.path) ? safeName(f.path) : f.path })));
  let text = buffer.toString('latin1');
  for (const p of hostile) text = text.split(safeName(p)).join(p);
  return Buffer.from(text, 'latin1');
}

function buildZip(files: BundleFile[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files) {
    if (file.symlinkTo !== undefined) {
      zip.addBuffer(Buffer.from(file.symlinkTo), file.path, { mode: 0o120777 });
    } else {
      zip.addBuffer(Buffer.from(file.content), file.path, { mode: 0o100000 | (file.mode ?? 0o644) });
    }
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** A gzipped tar bundle of ordinary files. */
export async function tgzBundle(files: BundleFile[]): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-tgz-'));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(dir, 'src', file.path)), { recursive: true });
      writeFileSync(join(dir, 'src', file.path), file.content, { mode: file.mode ?? 0o644 });
    }
    await tar.c({ gzip: true, file: join(dir, 'out.tgz'), cwd: join(dir, 'src') }, files.map((f) => f.path));
    return (await import('node:fs')).readFileSync(join(dir, 'out.tgz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A hook script that runs under /bin/sh. */
export const script = (body: string): BundleFile['content'] => `#!/bin/sh\nset -e\n${body}\n`;

export const MINIMAL_APPSPEC = 'version: 0.0\nos: linux\n';

/** Uploads a bundle (zip, or tgz by its key) holding `files`, by default just a valid appspec.yml; returns its ETag. */
export async function putBundle(s3: S3Client, bucket: string, key: string, files: BundleFile[] = [{ path: 'appspec.yml', content: MINIMAL_APPSPEC }]): Promise<string> {
  const Body = /\.(tgz|tar\.gz)$/.test(key) ? await tgzBundle(files) : await zipBundle(files);
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body }))).ETag ?? '';
}
