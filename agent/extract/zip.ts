import yauzl from 'yauzl';
import type { ArchiveEntry } from '../../lib/domain/archive-entry.js';
import { BundleIntegrityError } from './errors.js';
import type { BundleWriter } from './writer.js';

const MAX_LINK_TARGET_BYTES = 4096;
const UTF8_FLAG = 0x800;
const MADE_BY_UNIX = 3;

/**
 * Feeds a zip's entries to the writer in central-directory order. The declared
 * sizes are summed and checked before anything is written; yauzl then refuses
 * an entry that inflates past its declared size, and the writer counts what
 * really comes out.
 */
export async function readZip(file: string, writer: BundleWriter, maxEntries: number): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (err, z) =>
      err || !z ? reject(new BundleIntegrityError(`not a valid zip archive: ${err?.message}`)) : resolve(z),
    ),
  );
  try {
    if (zip.entryCount > maxEntries) throw new BundleIntegrityError(`the archive has more than ${maxEntries} entries (${zip.entryCount})`);
    const entries = await listEntries(zip);
    let declared = 0;
    for (const entry of entries) writer.expect((declared += entry.uncompressedSize), name(entry));
    for (const entry of entries) {
      const path = name(entry);
      const type = typeOf(entry);
      if (entry.isEncrypted()) throw new BundleIntegrityError(`entry ${JSON.stringify(path)} is encrypted`);
      if (type === 'symlink') {
        const target = await readLinkTarget(zip, entry, path);
        await writer.add({ path, type, linkTarget: target });
      } else if (type === 'file') {
        // The dry run trusts declared sizes: yauzl stops any entry at its declared size when it is written.
        const body = writer.dryRun ? undefined : await contents(zip, entry, path);
        await writer.add({ path, type, mode: unixMode(entry), declaredSize: entry.uncompressedSize }, body);
      } else {
        await writer.add({ path, type, mode: unixMode(entry) });
      }
    }
  } finally {
    zip.close();
  }
}

function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const all: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      all.push(e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(all));
    zip.on('error', (e: Error) => reject(new BundleIntegrityError(`corrupt zip archive: ${e.message}`)));
    zip.readEntry();
  });
}

/** Names are UTF-8 when flagged so, and must decode as UTF-8 otherwise (we do not guess code pages). */
function name(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new BundleIntegrityError(`an entry name is not valid UTF-8 (${JSON.stringify(raw.toString('latin1'))})${entry.generalPurposeBitFlag & UTF8_FLAG ? '' : '; re-create the zip with UTF-8 names'}`);
  }
}

function unixMode(entry: yauzl.Entry): number | undefined {
  if (entry.versionMadeBy >> 8 !== MADE_BY_UNIX) return undefined;
  return (entry.externalFileAttributes >>> 16) & 0o7777;
}

function typeOf(entry: yauzl.Entry): ArchiveEntry['type'] {
  const raw = entry.fileName as unknown as Buffer;
  if (raw.at(-1) === 0x2f) return 'directory';
  if (entry.versionMadeBy >> 8 !== MADE_BY_UNIX) return 'file';
  const kind = (entry.externalFileAttributes >>> 16) & 0o170000;
  if (kind === 0 || kind === 0o100000) return 'file';
  if (kind === 0o120000) return 'symlink';
  if (kind === 0o040000) return 'directory';
  return 'other';
}

async function contents(zip: yauzl.ZipFile, entry: yauzl.Entry, path: string): Promise<AsyncIterable<Buffer>> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err || !s ? reject(new BundleIntegrityError(`entry ${JSON.stringify(path)} is corrupt: ${err?.message}`)) : resolve(s))),
  );
  return (async function* () {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
    } catch (error) {
      if (error instanceof BundleIntegrityError) throw error;
      throw new BundleIntegrityError(`entry ${JSON.stringify(path)} is corrupt: ${(error as Error).message}`);
    } finally {
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
  })();
}

async function readLinkTarget(zip: yauzl.ZipFile, entry: yauzl.Entry, path: string): Promise<string> {
  if (entry.uncompressedSize > MAX_LINK_TARGET_BYTES) throw new BundleIntegrityError(`entry ${JSON.stringify(path)}: symlink target is too long`);
  const chunks: Buffer[] = [];
  for await (const chunk of await contents(zip, entry, path)) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
