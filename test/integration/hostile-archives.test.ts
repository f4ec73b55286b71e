import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleIntegrityError, DEFAULT_LIMITS, extractBundle } from '../../agent/archive.js';
import { type RawEntry, gzipBomb, gzipManyBomb, rawTar, rawTgz, rawZip, zipBomb } from '../support/raw-archives.js';

type Format = 'zip' | 'tar' | 'tgz';
const FORMATS: Format[] = ['zip', 'tar', 'tgz'];
const build = (format: Format, entries: RawEntry[]) => (format === 'zip' ? rawZip(entries) : format === 'tar' ? rawTar(entries) : rawTgz(entries));

let dir: string;
let canary: string;
let dest: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-hostile-'));
  canary = join(dir, 'canary');
  mkdirSync(canary);
  writeFileSync(join(canary, 'secret'), 'canary');
  dest = join(dir, 'dest');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every path under the test folder except the destination, with file contents and link targets. */
function outside(): Record<string, string> {
  const seen: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (path === dest || name.startsWith('archive.')) continue;
      const info = lstatSync(path);
      const key = relative(dir, path);
      if (info.isSymbolicLink()) seen[key] = `-> ${readlinkSync(path)}`;
      else if (info.isDirectory()) {
        seen[key] = `dir ${info.mode.toString(8)}`;
        walk(path);
      } else seen[key] = `${info.mode.toString(8)} ${readFileSync(path, 'utf8')}`;
    }
  };
  walk(dir);
  return seen;
}

async function extract(format: Format, archive: Buffer, limits = DEFAULT_LIMITS) {
  const file = join(dir, `archive.${format}`);
  writeFileSync(file, archive);
  return extractBundle(file, format, dest, limits);
}

const file = (path: string, content = 'x'): RawEntry => ({ path, type: 'file', content });
const dirEntry = (path: string): RawEntry => ({ path, type: 'directory' });
const symlink = (path: string, target: string): RawEntry => ({ path, type: 'symlink', target });
const hardlink = (path: string, target: string): RawEntry => ({ path, type: 'hardlink', target });

interface Case {
  name: string;
  entries: () => RawEntry[];
  rejected: RegExp;
  /** zip has no hard links: those cases are tar and tgz only. */
  formats?: Format[];
}

const deep = Array.from({ length: 70 }, (_, i) => `d${i}`).join('/');
const long = Array.from({ length: 8 }, () => 'n'.repeat(200)).join('/');

const CASES: Case[] = [
  { name: 'a dot-dot path', entries: () => [file('appspec.yml'), file('../canary/pwned')], rejected: /"\.\.\/canary\/pwned": climbs out of the bundle/ },
  { name: 'a dot-dot inside a path', entries: () => [file('a/b/../../../canary/pwned')], rejected: /climbs out of the bundle/ },
  { name: 'an absolute path', entries: () => [file(join(canary, 'pwned'))], rejected: /absolute/ },
  { name: 'a symlink out, then a file through it', entries: () => [symlink('out', '../canary'), file('out/pwned')], rejected: /"out".*points outside the bundle/ },
  { name: 'an absolute symlink', entries: () => [symlink('out', canary), file('out/pwned')], rejected: /"out": link target .* is absolute/ },
  {
    name: 'a symlink inside the bundle, then a file written through it',
    entries: () => [dirEntry('app'), symlink('app/link', '..'), file('app/link/appspec.yml')],
    rejected: /"app\/link\/appspec.yml": would be written through the symlink "app\/link"/,
  },
  {
    name: 'a symlink chain as reported (d/up -> ../.., then d/up/x -> ../../..)',
    entries: () => [dirEntry('app/d'), symlink('app/d/up', '../..'), symlink('app/d/up/x', '../../..'), file('app/d/up/x/canary/pwned')],
    rejected: /"app\/d\/up\/x": would be written through the symlink "app\/d\/up"/,
  },
  {
    name: 'a symlink chain two links deep',
    entries: () => [symlink('d/up', '..'), symlink('esc', 'd/up/..'), file('esc/canary/pwned')],
    rejected: /"esc": link target "d\/up\/\.\." points outside the bundle \(through the symlink "d\/up"\)/,
  },
  {
    name: 'a symlink chain three links deep',
    entries: () => [symlink('a/up', '..'), symlink('b/up', '../a/up'), symlink('c/esc', '../b/up/..'), file('c/esc/canary/pwned')],
    rejected: /"c\/esc": link target .* points outside the bundle \(through the symlink "b\/up"\)/,
  },
  {
    name: 'a dangling symlink given a way out by a later one',
    entries: () => [symlink('a', 'b/..'), symlink('b', '.'), file('appspec.yml')],
    rejected: /"a": link target "b\/\.\." points outside the bundle \(through the symlink "b"\)/,
  },
  { name: 'a hard link out', entries: () => [hardlink('h', '../canary/secret')], rejected: /"h": hard link target .*climbs out/, formats: ['tar', 'tgz'] },
  { name: 'an absolute hard link', entries: () => [hardlink('h', join(canary, 'secret'))], rejected: /"h": hard link target .*absolute/, formats: ['tar', 'tgz'] },
  { name: 'a hard link to a symlink', entries: () => [file('f'), symlink('s', 'f'), hardlink('h', 's')], rejected: /"h": hard link target "s" is a symlink/, formats: ['tar', 'tgz'] },
  {
    name: 'a hard link through a symlinked folder',
    entries: () => [dirEntry('real'), file('real/f'), symlink('alias', 'real'), hardlink('h', 'alias/f')],
    rejected: /"h": hard link target "alias\/f" is not a regular file extracted earlier/,
    formats: ['tar', 'tgz'],
  },
  { name: 'a hard link to a file not yet extracted', entries: () => [hardlink('h', 'later'), file('later')], rejected: /"h": hard link target "later" is not a regular file/, formats: ['tar', 'tgz'] },
  { name: 'a character device', entries: () => [{ path: 'dev/null', type: 'chardev' }], rejected: /"dev\/null": devices, FIFOs and other special files are not allowed/ },
  { name: 'a FIFO', entries: () => [{ path: 'pipe', type: 'fifo' }], rejected: /"pipe": devices, FIFOs/ },
  { name: 'a duplicate file', entries: () => [file('appspec.yml', 'a'), file('appspec.yml', 'b')], rejected: /"appspec.yml": is listed twice/ },
  { name: 'a symlink then a file of the same name', entries: () => [symlink('x', 'y'), file('x')], rejected: /"x": is listed twice/ },
  { name: 'names differing only in case', entries: () => [file('README.md'), file('readme.md')], rejected: /"readme.md": differs from the entry "README.md" only in letter case/ },
  { name: 'folders differing only in case', entries: () => [file('App/a'), file('app/b')], rejected: /"app\/b": differs from the entry "App" only in letter case/ },
  { name: 'a file then a folder of the same name', entries: () => [file('x'), dirEntry('x')], rejected: /"x\/?": is listed twice/ },
  { name: 'a file then an entry under it', entries: () => [file('x'), file('x/y')], rejected: /"x\/y": "x" is a file/ },
  { name: 'a name longer than 255 bytes', entries: () => [file('n'.repeat(300))], rejected: /has a name longer than 255 bytes/ },
  { name: 'a path nested 70 folders deep', entries: () => [file(`${deep}/f`)], rejected: /is nested deeper than 64 folders/ },
  { name: 'a path longer than 1024 bytes', entries: () => [file(`${long}/f`)], rejected: /is longer than 1024 bytes/ },
];

describe('a generated corpus of hostile archives', () => {
  const table = CASES.flatMap((c) => (c.formats ?? FORMATS).map((format) => [`${format}: ${c.name}`, format, c] as const));
  it.each(table)('%s is rejected, naming the entry, and nothing is written outside', async (_name, format, c) => {
    const before = outside();
    const attempt = extract(format, build(format, c.entries()));
    await expect(attempt).rejects.toThrow(BundleIntegrityError);
    await expect(attempt).rejects.toThrow(c.rejected);
    expect(outside()).toEqual(before);
    expect(existsSync(dest)).toBe(false);
  });

  it.each(FORMATS)('%s: the same bundle without its hostile entry extracts, links and all', async (format) => {
    const entries: RawEntry[] = [
      file('appspec.yml', 'version: 0.0\n'),
      { path: 'scripts/start.sh', type: 'file', content: '#!/bin/sh\n', mode: 0o755 },
      symlink('scripts/alias.sh', 'start.sh'),
      symlink('current', 'scripts'),
      symlink('up', 'scripts/..'),
      ...(format === 'zip' ? [] : [hardlink('scripts/copy.sh', 'scripts/start.sh')]),
    ];
    await extract(format, build(format, entries));
    expect(readFileSync(join(dest, 'current/alias.sh'), 'utf8')).toBe('#!/bin/sh\n');
    expect(lstatSync(join(dest, 'scripts/start.sh')).mode & 0o111).not.toBe(0);
    if (format !== 'zip') expect(lstatSync(join(dest, 'scripts/copy.sh')).nlink).toBe(2);
  });
});

describe('expansion limits', () => {
  it('a zip bomb (1 MB expanding to 1 GiB) is rejected before a byte of it is written', async () => {
    const bomb = zipBomb(1024);
    expect(bomb.length).toBeLessThan(1.5 * 1024 ** 2);
    await expect(extract('zip', bomb)).rejects.toThrow(/"zeros.bin": the archive expands past 200 times its compressed size/);
    expect(existsSync(dest)).toBe(false);
  });

  it('a zip entry that inflates past the size it declares is stopped at the declared size', async () => {
    // 64 MiB of zeros declared as 1000 bytes: under every limit on paper.
    await expect(extract('zip', zipBomb(64, 1000))).rejects.toThrow(/"zeros.bin" is corrupt: too many bytes in the stream/);
    expect(existsSync(dest)).toBe(false);
  });

  it('a gzip bomb in a tgz (1 MB expanding to 1 GiB) is rejected from its header, streaming', async () => {
    const bomb = gzipBomb(1024);
    expect(bomb.length).toBeLessThan(1.5 * 1024 ** 2);
    await expect(extract('tgz', bomb)).rejects.toThrow(/"zeros.bin": the archive expands past 200 times its compressed size/);
    expect(existsSync(dest)).toBe(false);
  });

  it.each(['tgz', 'zip'] as const)('%s: many small files count by the bytes they expand to, refused before any is written', async (format) => {
    const entries = Array.from({ length: 40 }, (_, i) => file(`f${i}.bin`, Buffer.alloc(256 * 1024).toString()));
    const limits = { ...DEFAULT_LIMITS, maxBytes: 3 * 1024 ** 2, maxRatio: 1e9 };
    const error = await extract(format, build(format, entries), limits).catch((e: BundleIntegrityError) => e);
    expect(error).toBeInstanceOf(BundleIntegrityError);
    expect((error as BundleIntegrityError).message).toMatch(/the archive expands past 3145728 bytes \(the agent's --max-expanded-bytes limit\)/);
    expect((error as BundleIntegrityError).bytesWritten).toBe(0);
    expect(existsSync(dest)).toBe(false);
  });

  it('a tgz of a thousand honest 1 MiB files of zeros (1 MB compressed) is refused by its ratio, writing nothing', async () => {
    const error = await extract('tgz', gzipManyBomb(1000)).catch((e: BundleIntegrityError) => e);
    expect(error).toBeInstanceOf(BundleIntegrityError);
    expect((error as BundleIntegrityError).message).toMatch(/"f\d+\.bin": the archive expands past 200 times its compressed size/);
    expect((error as BundleIntegrityError).bytesWritten).toBe(0);
    expect(existsSync(dest)).toBe(false);
  });

  it('a tgz within its ratio extracts and reports the bytes it expanded to', async () => {
    const expanded = await extract('tgz', rawTgz([file('appspec.yml', 'version: 0.0\n'), file('data.bin', 'y'.repeat(100_000))]));
    expect(expanded).toBeGreaterThanOrEqual(100_000);
    expect(readFileSync(join(dest, 'data.bin'), 'utf8')).toHaveLength(100_000);
  });

  it('too many entries are refused', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => file(`f${i}`));
    await expect(extract('tar', rawTar(entries), { ...DEFAULT_LIMITS, maxEntries: 20 })).rejects.toThrow(/more than 20 entries/);
  });
});

describe('random archives', () => {
  const component = fc.constantFrom('a', 'b', 'A', 'c', '..', '.', '');
  const relPath = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
  const entry: fc.Arbitrary<RawEntry> = fc.oneof(
    relPath.map((path) => file(path)),
    relPath.map((path) => dirEntry(path)),
    fc.tuple(relPath, fc.oneof(relPath, fc.constant('../canary'), fc.constant('/CANARY'))).map(([path, target]) => symlink(path, target)),
    fc.tuple(relPath, fc.oneof(relPath, fc.constant('../canary/secret'))).map(([path, target]) => hardlink(path, target)),
    relPath.map((path) => file(`${path}/secret`)),
  );

  it('never write outside the destination, and every link left behind stays inside', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FORMATS), fc.array(entry, { minLength: 1, maxLength: 8 }), async (format, raw) => {
        rmSync(dest, { recursive: true, force: true });
        const entries = raw
          .filter((e) => format !== 'zip' || e.type !== 'hardlink')
          .map((e) => (e.target === '/CANARY' ? { ...e, target: canary } : e));
        if (entries.length === 0) return;
        const before = outside();
        const error = await extract(format, build(format, entries)).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (error && !(error instanceof BundleIntegrityError)) throw error;
        expect(outside()).toEqual(before);
        if (!error) for (const link of links(dest)) expect(insideDest(link), `${link} -> ${readlinkSync(link)}`).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

function* links(root: string): Generator<string> {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const info = lstatSync(path);
    if (info.isSymbolicLink()) yield path;
    else if (info.isDirectory()) yield* links(path);
  }
}

/** A link whose target exists must resolve inside; a dangling one must not name anything outside either. */
function insideDest(link: string): boolean {
  const target = readlinkSync(link);
  if (target.startsWith('/')) return false;
  try {
    const real = realpathSync(link);
    return real === realpathSync(dest) || real.startsWith(`${realpathSync(dest)}/`);
  } catch {
    return true;
  }
}
