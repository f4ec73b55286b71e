import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { APPSPEC_NAME, locateAppspec, normaliseEntryPath } from '../lib/domain/appspec-location.js';
import { type Appspec, AppspecError, parseAppspec } from '../lib/domain/appspec.js';

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
async function zipEntries(file: string): Promise<{ names: string[]; read(name: string): Promise<string> }> {
  const buffer = await readFile(file);
  const open = () =>
    new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buffer, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))));
  const names: string[] = [];
  const zip = await open();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) names.push(entry.fileName);
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
  return { names, read };
}

/**
 * The checks preflight makes on a revision, run on a folder or a zip before
 * it is uploaded: where appspec.yml is (the shared locator rule), the appspec
 * itself (the shared model: every problem with its line), and that each
 * `files` source and hook script exists in the bundle.
 */
export async function validateBundle(path: string): Promise<{ problems: BundleProblem[]; appspec?: Appspec }> {
  const isDir = (await lstat(path)).isDirectory();
  const source = isDir
    ? { names: await walk(path), read: (name: string) => readFile(join(path, name), 'utf8') }
    : await zipEntries(path);
  const location = locateAppspec(source.names);
  if ('problem' in location) return { problems: [{ path: APPSPEC_NAME, message: location.problem }] };
  let appspec: Appspec;
  try {
    appspec = parseAppspec(await source.read(location.appspecPath));
  } catch (error) {
    if (error instanceof AppspecError) return { problems: error.details.map((d) => ({ path: `${APPSPEC_NAME} ${d.path}`, message: d.message })) };
    throw error;
  }
  const inBundle = new Set(source.names.map(normaliseEntryPath).filter((n) => n.startsWith(location.root)).map((n) => n.slice(location.root.length)));
  const exists = (p: string) => {
    const n = normaliseEntryPath(p.replace(/^\/+/, ''));
    return n === '' || inBundle.has(n) || [...inBundle].some((f) => f.startsWith(`${n}/`));
  };
  const problems: BundleProblem[] = [];
  appspec.files.forEach((f, i) => {
    if (!exists(f.source)) problems.push({ path: `${APPSPEC_NAME} $.files[${i}].source`, message: `${f.source} is not in the bundle` });
  });
  for (const [event, scripts] of Object.entries(appspec.hooks)) {
    (scripts ?? []).forEach((s, i) => {
      if (!exists(s.location)) problems.push({ path: `${APPSPEC_NAME} $.hooks.${event}[${i}].location`, message: `${s.location} is not in the bundle (the agent would fail with ScriptMissing)` });
    });
  }
  return { problems, appspec };
}
