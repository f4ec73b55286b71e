import { constants } from 'node:fs';
import { link, mkdir, open, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveEntry } from '../../lib/domain/archive-entry.js';
import { ArchiveTree } from '../../lib/domain/archive-tree.js';
import { BundleIntegrityError } from './errors.js';
import { type ExtractLimits, expansionBudget } from './limits.js';

/** What a format reader knows about an entry beyond the rules' view of it. */
export interface ReadEntry extends ArchiveEntry {
  /** Permission bits as stored (setuid/setgid/sticky are dropped). */
  mode?: number | undefined;
  /** The size the archive declares; checked before writing, while the real bytes are counted as they come. */
  declaredSize?: number | undefined;
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes the entries a format reader feeds it into `dest`, one at a time and
 * only after the archive tree admitted them (or, in a dry run, only checks them); counts the bytes really produced
 * against the expansion budget. Every file is created exclusively and without
 * following a link, so even a tree that disagreed with the disk could not be
 * written through.
 */
export class BundleWriter {
  private readonly tree = new ArchiveTree();
  private readonly budget: ReturnType<typeof expansionBudget>;
  private produced = 0;
  private entries = 0;

  constructor(
    private readonly dest: string,
    private readonly limits: ExtractLimits,
    compressedBytes: number,
    /** Check every entry and count every byte, but write nothing (the first of two passes). */
    readonly dryRun = false,
  ) {
    this.budget = expansionBudget(limits, compressedBytes);
  }

  get bytesProduced(): number {
    return this.produced;
  }

  /** Bytes the archive expands to outside entries' contents (tar headers, padding, long names). */
  consume(bytes: number, path: string): void {
    this.produced += bytes;
    if (this.produced > this.budget.bytes) throw new BundleIntegrityError(this.budget.exceeded(path));
  }

  /** A declared total, checked before anything of it is written. */
  expect(bytes: number, path: string): void {
    if (this.produced + bytes > this.budget.bytes) throw new BundleIntegrityError(this.budget.exceeded(path));
  }

  async add(entry: ReadEntry, body?: AsyncIterable<Buffer>): Promise<void> {
    const isRoot = entry.type === 'directory' && entry.path.split('/').every((p) => p === '' || p === '.');
    if (isRoot) return; // `tar -C dir .` lists the root itself as `./`
    if (++this.entries > this.limits.maxEntries) throw new BundleIntegrityError(`the archive has more than ${this.limits.maxEntries} entries`);
    const verdict = this.tree.admit(entry);
    if (!verdict.ok) throw new BundleIntegrityError(verdict.problem);
    const { path, implicitDirectories, linkTarget } = verdict.entry;
    if (this.dryRun) {
      if (entry.declaredSize !== undefined) this.expect(entry.declaredSize, path);
      if (body) for await (const chunk of body) this.consume(chunk.length, path);
      return;
    }
    for (const folder of implicitDirectories) await mkdir(join(this.dest, folder), { mode: 0o755 });
    const target = join(this.dest, path);
    switch (entry.type) {
      case 'directory':
        if (!implicitDirectories.includes(path)) await mkdir(target, { mode: ((entry.mode ?? 0o755) & 0o777) | 0o700 }).catch(existingFolder);
        return;
      case 'symlink':
        await symlink(linkTarget as string, target);
        return;
      case 'hardlink':
        await link(join(this.dest, linkTarget as string), target);
        return;
      default:
        if (entry.declaredSize !== undefined) this.expect(entry.declaredSize, path);
        await this.writeFile(target, path, (entry.mode ?? 0o644) & 0o777, body);
    }
  }

  /** Called once every entry is in: links are checked again against the whole tree. */
  finish(): void {
    if (this.entries === 0) throw new BundleIntegrityError('the archive has no entries');
    const problem = this.tree.finalProblem();
    if (problem) throw new BundleIntegrityError(problem);
  }

  private async writeFile(target: string, path: string, mode: number, body?: AsyncIterable<Buffer>): Promise<void> {
    const file = await open(target, CREATE_FILE, mode || 0o644);
    try {
      if (!body) return;
      for await (const chunk of body) {
        this.consume(chunk.length, path);
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
  }
}

/** A folder listed after entries inside it already created it. */
function existingFolder(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EEXIST') throw error;
}
