import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createGunzip } from 'node:zlib';
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
  const writer = new BundleWriter(dest, limits, (await stat(file)).size);
  try {
    if (type === 'zip') {
      await readZip(file, writer, limits.maxEntries);
      writer.finish();
    } else {
      const raw = createReadStream(file, { highWaterMark: 64 * 1024 });
      const source = type === 'tgz' ? raw.pipe(createGunzip({ chunkSize: 64 * 1024 })) : raw;
      try {
        await readTar(source, writer);
      } finally {
        raw.destroy();
        source.destroy();
      }
    }
    return writer.bytesProduced;
  } catch (error) {
    await rm(dest, { recursive: true, force: true });
    throw error;
  }
}
