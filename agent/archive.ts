import { createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, symlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { type ArchiveEntry, entryProblem } from '../lib/domain/archive-entry.js';

export class BundleIntegrityError extends Error {
  override readonly name = 'BundleIntegrityError';
}

export interface ExtractLimits {
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_LIMITS: ExtractLimits = { maxBytes: 4 * 1024 ** 3, maxEntries: 200_000 };

/**
 * Extracts a zip, tar or tgz bundle into `dest` (a new, empty folder). Every entry
 * is checked first (paths and link targets inside the root, no special files,
 * total size and count capped); one bad entry rejects the whole archive before
 * anything is written.
 */
export async function extractBundle(file: string, type: 'zip' | 'tar' | 'tgz', dest: string, limits = DEFAULT_LIMITS): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (type === 'zip') await extractZip(file, dest, limits);
  else await extractTar(file, dest, limits);
}

function check(entries: ArchiveEntry[], sizes: number[], limits: ExtractLimits): void {
  if (entries.length > limits.maxEntries) throw new BundleIntegrityError(`archive has more than ${limits.maxEntries} entries`);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > limits.maxBytes) throw new BundleIntegrityError(`archive expands to ${total} bytes, over the ${limits.maxBytes} byte limit`);
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) throw new BundleIntegrityError(`unsafe archive entry ${problem}`);
  }
}

/** Refuses to write through anything that resolves outside the root (e.g. a symlinked folder). */
async function assertInside(root: string, target: string): Promise<void> {
  const realRoot = await realpath(root);
  let parent = dirname(target);
  for (;;) {
    try {
      const real = await realpath(parent);
      const rel = relative(realRoot, real);
      if (rel.startsWith('..') || rel.startsWith(sep)) throw new BundleIntegrityError(`${target} would be written outside the bundle`);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      parent = dirname(parent);
    }
  }
}

// ---- zip ----

type ZipEntry = yauzl.Entry;

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true }, (err, zip) =>
      err || !zip ? reject(new BundleIntegrityError(`not a valid zip archive: ${err?.message}`)) : resolve(zip),
    ),
  );
}

function zipEntries(zip: yauzl.ZipFile): Promise<ZipEntry[]> {
  return new Promise((resolve, reject) => {
    const all: ZipEntry[] = [];
    zip.on('entry', (e: ZipEntry) => {
      all.push(e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(all));
    zip.on('error', (e) => reject(new BundleIntegrityError(`corrupt zip archive: ${e.message}`)));
    zip.readEntry();
  });
}

function zipMode(entry: ZipEntry): number {
  return (entry.externalFileAttributes >>> 16) & 0xffff;
}

function zipType(entry: ZipEntry): ArchiveEntry['type'] {
  if (entry.fileName.endsWith('/')) return 'directory';
  const kind = zipMode(entry) & 0o170000;
  if (kind === 0o120000) return 'symlink';
  if (kind === 0 || kind === 0o100000) return 'file';
  if (kind === 0o040000) return 'directory';
  return 'other';
}

function readStream(zip: yauzl.ZipFile, entry: ZipEntry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(new BundleIntegrityError(`corrupt entry ${entry.fileName}: ${err?.message}`)) : resolve(stream))),
  );
}

async function readText(zip: yauzl.ZipFile, entry: ZipEntry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await readStream(zip, entry)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function extractZip(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  const zip = await openZip(file);
  try {
    const entries = await zipEntries(zip);
    const described: ArchiveEntry[] = [];
    for (const e of entries) {
      const type = zipType(e);
      const path = e.fileName.replace(/\/$/, '');
      described.push({ path, type, linkTarget: type === 'symlink' ? await readText(zip, e) : undefined });
    }
    check(described, entries.map((e) => e.uncompressedSize), limits);
    for (const [i, e] of entries.entries()) {
      const entry = described[i] as ArchiveEntry;
      const target = join(dest, entry.path);
      await assertInside(dest, target);
      if (entry.type === 'directory') {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      if (entry.type === 'symlink') {
        await symlink(entry.linkTarget as string, target);
        continue;
      }
      const mode = zipMode(e) & 0o777;
      await pipeline(await readStream(zip, e), createWriteStream(target, { mode: mode || 0o644, flags: 'wx' }));
    }
  } catch (error) {
    if (error instanceof BundleIntegrityError) throw error;
    throw new BundleIntegrityError(`could not extract zip archive: ${(error as Error).message}`);
  } finally {
    zip.close();
  }
}

// ---- tar / tgz ----

function tarType(type: string): ArchiveEntry['type'] {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      return 'other';
  }
}

const IGNORED_TAR_TYPES = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath', 'OldExtendedHeader']);

async function extractTar(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  const entries: ArchiveEntry[] = [];
  const sizes: number[] = [];
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (e) => {
        if (IGNORED_TAR_TYPES.has(e.type)) return;
        entries.push({ path: e.path.replace(/\/$/, '').replace(/^\.\//, ''), type: tarType(e.type), linkTarget: e.linkpath });
        sizes.push(e.size ?? 0);
      },
    });
  } catch (error) {
    throw new BundleIntegrityError(`not a valid tar archive: ${(error as Error).message}`);
  }
  if (entries.length === 0) throw new BundleIntegrityError('the archive is empty or truncated');
  check(entries.filter((e) => e.path !== '.' && e.path !== ''), sizes, limits);
  try {
    await tar.x({ file, cwd: dest, strict: true, preservePaths: false, preserveOwner: false, noMtime: false });
  } catch (error) {
    throw new BundleIntegrityError(`could not extract tar archive: ${(error as Error).message}`);
  }
  // Belt and braces: nothing may have landed outside through a link.
  const info = await lstat(dest);
  if (!info.isDirectory()) throw new BundleIntegrityError('extraction root is not a folder');
}
