import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { APPSPEC_NAME, locateAppspec, normaliseEntryPath } from '../lib/domain/appspec-location.js';
import { type Appspec, AppspecError, checkAppspec } from '../lib/domain/appspec.js';

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

/** Zips a bundle folder (modes kept, so hooks stay executable; links stored as links). */
export async function zipFolder(root: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of await walk(root)) {
    const path = join(root, file);
    const info = await lstat(path);
    if (info.isSymbolicLink()) {
      const { readlink } = await import('node:fs/promises');
      zip.addBuffer(Buffer.from(await readlink(path)), file, { mode: 0o120777 });
    } else {
      zip.addBuffer(await readFile(path), file, { mode: info.mode });
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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
  const source = isDir
    ? { names: await walk(path), dirs: await topDirs(path), read: (name: string) => readFile(join(path, name), 'utf8') }
    : await zipEntries(path);
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
