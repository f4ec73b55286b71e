import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createGunzip } from 'node:zlib';
import { BundleIntegrityError } from './errors.js';
import { DEFAULT_LIMITS, type ExtractLimits } from './limits.js';
import { readTar } from './tar.js';
import { BundleWriter } from './writer.js';
import { readZip } from './zip.js';

export { BundleIntegrityError } from './errors.js';
export { DEFAULT_LIMITS, type ExtractLimits } from './limits.js';

/**
 * Extracts a zip, tar or tgz bundle into `dest`, which must not exist yet.
 * Entries are checked one by one against the tree extracted so far and
 * streamed to disk; the first bad entry stops everything and `dest` is removed,
 * so a rejected bundle leaves nothing behind. Returns the bytes it expanded to.
 */
export async function extractBundle(file: string, type: 'zip' | 'tar' | 'tgz', dest: string, limits: ExtractLimits = DEFAULT_LIMITS): Promise<number> {
  await mkdir(dirname(dest), { recursive: true });
  await mkdir(dest, { mode: 0o755 });
  const compressed = (await stat(file)).size;
  let writer = new BundleWriter(dest, limits, compressed, true);
  try {
    // Two passes over the same file: the first checks every entry and counts every byte without
    // writing, so a hostile entry or a bomb is refused before anything lands; the second writes,
    // checking again as it goes.
    for (const dryRun of [true, false]) {
      writer = new BundleWriter(dest, limits, compressed, dryRun);
      await read(file, type, writer, limits);
    }
    return writer.bytesProduced;
  } catch (error) {
    if (error instanceof BundleIntegrityError) error.bytesWritten = writer.dryRun ? 0 : writer.bytesProduced;
    await rm(dest, { recursive: true, force: true });
    throw error;
  }
}

async function read(file: string, type: 'zip' | 'tar' | 'tgz', writer: BundleWriter, limits: ExtractLimits): Promise<void> {
  if (type === 'zip') {
    await readZip(file, writer, limits.maxEntries);
    writer.finish();
    return;
  }
  const raw = createReadStream(file, { highWaterMark: 64 * 1024 });
  const source = type === 'tgz' ? raw.pipe(createGunzip({ chunkSize: 64 * 1024 })) : raw;
  try {
    await readTar(source, writer);
  } finally {
    raw.destroy();
    source.destroy();
  }
}
