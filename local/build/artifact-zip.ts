import { createWriteStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import yazl from 'yazl';

/** Every regular file below `root`, as paths relative to it; symbolic links are named in `links` and not followed. */
export async function listFiles(root: string): Promise<{ files: string[]; links: string[] }> {
  const files: string[] = [];
  const links: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) links.push(path);
      else if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  await walk('');
  return { files: files.sort(), links: links.sort() };
}

/** Writes the chosen files of `root` to a zip at `dest`, each at its artifact path, with its permission bits. */
export async function writeArtifactZip(root: string, entries: readonly { from: string; to: string }[], dest: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const { from, to } of entries) {
    const stat = await lstat(join(root, from));
    zip.addFile(join(root, from), to, { mode: 0o100000 | (stat.mode & 0o777), mtime: stat.mtime });
  }
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(dest, { mode: 0o600 });
    zip.outputStream.pipe(out).on('finish', resolve).on('error', reject);
    zip.outputStream.on('error', reject);
  });
}
