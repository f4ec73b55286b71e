import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { APPSPEC_NAME, locateAppspec, normaliseEntryPath } from '../lib/domain/appspec-location.js';
import { type Appspec, AppspecError, MAX_APPSPEC_BYTES, checkAppspec } from '../lib/domain/appspec.js';

export interface BundleProblem {
  path: string;
  message: string;
}

/** The files of a folder (relative, POSIX separators), without following links out of it. */
async function walk(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(root, path)));
    else out.push(relative(root, path).split(sep).join('/'));
  }
  return out.sort();
}

/**
 * Zips a bundle folder as a stream (modes kept, so hooks stay executable; links
 * stored as links): each file is read from disk as the zip is consumed, so
 * memory stays flat whatever the bundle's size. Also returns the files' total size.
 */
export async function zipFolder(root: string): Promise<{ stream: Readable; inputBytes: number }> {
  const zip = new yazl.ZipFile();
  let inputBytes = 0;
  for (const file of await walk(root)) {
    const path = join(root, file);
    const info = await lstat(path);
    if (info.isSymbolicLink()) {
      zip.addBuffer(Buffer.from(await readlink(path)), file, { mode: 0o120777 });
    } else {
      zip.addFile(path, file, { mode: info.mode, mtime: info.mtime });
      inputBytes += info.size;
    }
  }
  zip.end();
  return { stream: zip.outputStream as Readable, inputBytes };
}

/** A bundle file's archive type, from its name (what --help and the server take). */
export function archiveType(file: string): 'zip' | 'tar' | 'tgz' | undefined {
  const name = file.toLowerCase();
  if (name.endsWith('.zip')) return 'zip';
  if (name.endsWith('.tar')) return 'tar';
  if (name.endsWith('.tgz') || name.endsWith('.tar.gz')) return 'tgz';
  return undefined;
}

/**
 * The regular files of a tar or tgz, read by the same tar parser the server's
 * preflight uses, and a reader for the appspec candidates among them (kept as
 * they stream past, up to the appspec size limit; no other content is held).
 */
async function tarEntries(file: string, gzipped: boolean): Promise<{ names: string[]; dirs: string[]; read(name: string): Promise<string> }> {
  const names: string[] = [];
  const dirs: string[] = [];
  const texts = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (entry) => {
        if (entry.type === 'Directory') dirs.push(normaliseEntryPath(entry.path));
        if (entry.type !== 'File' && entry.type !== 'OldFile') return entry.resume();
        const path = normaliseEntryPath(entry.path);
        names.push(path);
        if (basename(path) !== APPSPEC_NAME || entry.size > MAX_APPSPEC_BYTES) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => texts.set(path, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    const raw = createReadStream(file);
    const source = gzipped ? raw.pipe(createGunzip()) : raw;
    raw.on('error', reject);
    source.on('error', (e: Error) => reject(new Error(`${file} is not a valid ${gzipped ? 'gzipped ' : ''}tar archive: ${e.message}`)));
    source.pipe(parser as unknown as NodeJS.WritableStream);
  });
  return {
    names,
    dirs,
    read: async (name) => {
      const text = texts.get(name);
      if (text === undefined) throw new Error(`${name} is not in the bundle or is larger than ${MAX_APPSPEC_BYTES} bytes`);
      return text;
    },
  };
}

/** The regular files of a zip and a reader for one of them. */
async function zipEntries(file: string): Promise<{ names: string[]; dirs: string[]; read(name: string): Promise<string> }> {
  const buffer = await readFile(file);
  const open = () =>
    new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buffer, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))));
  const names: string[] = [];
  const dirs: string[] = [];
  const zip = await open();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) names.push(entry.fileName);
      else dirs.push(entry.fileName);
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  const read = async (name: string) => {
    const z = await open();
    return new Promise<string>((resolve, reject) => {
      z.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== name) return z.readEntry();
        z.openReadStream(entry, async (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          z.close();
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
      });
      z.on('end', () => reject(new Error(`${name} is not in the bundle`)));
      z.on('error', reject);
      z.readEntry();
    });
  };
  return { names, dirs, read };
}

/** The folders of a folder bundle, top level and one down (the appspec rule counts them as entries). */
async function topDirs(root: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    dirs.push(entry.name);
    for (const inner of await readdir(join(root, entry.name), { withFileTypes: true })) if (inner.isDirectory()) dirs.push(`${entry.name}/${inner.name}`);
  }
  return dirs;
}

/**
 * The checks preflight makes on a revision, run on a folder or a zip before
 * it is uploaded: where the appspec is (the shared locator rule), the appspec
 * itself (the shared model: every problem with its line, and the install plan
 * from the bundle's files), and that each `files` source and hook script
 * exists in the bundle. Warnings name what CodeDeploy would silently skip.
 */
export async function validateBundle(path: string): Promise<{ problems: BundleProblem[]; warnings: BundleProblem[]; appspec?: Appspec }> {
  const isDir = (await lstat(path)).isDirectory();
  const type = isDir ? undefined : archiveType(path);
  if (!isDir && !type) return { problems: [{ path: basename(path), message: 'a bundle file must be .zip, .tar, .tgz or .tar.gz' }], warnings: [] };
  const source = isDir
    ? { names: await walk(path), dirs: await topDirs(path), read: (name: string) => readFile(join(path, name), 'utf8') }
    : type === 'zip' ? await zipEntries(path) : await tarEntries(path, type === 'tgz');
  const location = locateAppspec(source.names, source.dirs);
  if ('problem' in location) return { problems: [{ path: APPSPEC_NAME, message: location.problem }], warnings: [] };
  const name = location.appspecPath.slice(location.root.length);
  const inBundle = new Set(source.names.map(normaliseEntryPath).filter((n) => n.startsWith(location.root)).map((n) => n.slice(location.root.length)));
  let appspec: Appspec;
  let warnings: BundleProblem[];
  try {
    const checked = checkAppspec(await source.read(location.appspecPath), { files: [...inBundle], limitTimeouts: true });
    appspec = checked.appspec;
    warnings = checked.warnings.map((d) => ({ path: `${name} ${d.path}`, message: d.message }));
  } catch (error) {
    if (error instanceof AppspecError) return { problems: error.details.map((d) => ({ path: `${name} ${d.path}`, message: d.message })), warnings: [] };
    throw error;
  }
  const exists = (p: string) => {
    const n = normaliseEntryPath(p.replace(/^\/+/, ''));
    return n === '' || inBundle.has(n) || [...inBundle].some((f) => f.startsWith(`${n}/`));
  };
  const problems: BundleProblem[] = [];
  appspec.files.forEach((f, i) => {
    if (!exists(f.source)) problems.push({ path: `${name} $.files[${i}].source`, message: `${f.source} is not in the bundle` });
  });
  for (const [event, scripts] of Object.entries(appspec.hooks)) {
    (scripts ?? []).forEach((s, i) => {
      if (!exists(s.location)) problems.push({ path: `${name} $.hooks.${event}[${i}].location`, message: `${s.location} is not in the bundle (the agent would fail with ScriptMissing)` });
    });
  }
  return { problems, warnings, appspec };
}
