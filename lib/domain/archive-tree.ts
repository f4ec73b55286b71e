import type { ArchiveEntry } from './archive-entry.js';

/** Bounds on an entry's name: deeper or longer paths are refused, not truncated. */
export const MAX_PATH_BYTES = 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_DEPTH = 64;
/** How many symlinks one resolution may follow (as Linux's ELOOP bound). */
const MAX_LINK_HOPS = 40;

type Node = { kind: 'directory'; explicit: boolean } | { kind: 'file' } | { kind: 'symlink'; target: string };

/** An entry the tree accepted, with its normalised path (no `./`, no trailing `/`). */
export interface AdmittedEntry extends ArchiveEntry {
  path: string;
  /** Folders the writer must create first (not listed by the archive), outermost first. */
  implicitDirectories: string[];
}

/**
 * The bundle as extracted so far, and the rules every archive entry must pass
 * against it before anything is written (the same for zip, tar and tgz):
 * - a path stays inside the root (no `..`, not absolute), within length and depth bounds;
 * - nothing is created under a folder that is a symlink or a file;
 * - no entry is listed twice, nor twice with names differing only in case
 *   (the bundle must mean the same on a case-insensitive file system);
 * - a symlink's target, resolved through the links already in the tree, stays inside;
 * - a hard link names a regular file already extracted;
 * - devices, FIFOs and other special files are refused.
 * Throws nothing: `admit` answers with the problem, naming the entry.
 */
export class ArchiveTree {
  private readonly nodes = new Map<string, Node>([['', { kind: 'directory', explicit: true }]]);
  private readonly folded = new Map<string, string>([['', '']]);

  admit(entry: ArchiveEntry): { ok: true; entry: AdmittedEntry } | { ok: false; problem: string } {
    const named = (problem: string) => ({ ok: false as const, problem: `entry ${JSON.stringify(entry.path)}: ${problem}` });
    const parsed = normalise(entry.path);
    if (typeof parsed === 'string') return named(parsed);
    const path = parsed.join('/');
    if (entry.type === 'other') return named('devices, FIFOs and other special files are not allowed');

    const implicitDirectories: string[] = [];
    for (let i = 1; i < parsed.length; i++) {
      const folder = parsed.slice(0, i).join('/');
      const node = this.nodes.get(folder);
      if (node?.kind === 'symlink') return named(`would be written through the symlink ${JSON.stringify(folder)}`);
      if (node?.kind === 'file') return named(`${JSON.stringify(folder)} is a file, so nothing can be created under it`);
      if (!node) {
        const clash = this.caseClash(folder);
        if (clash) return named(clash);
        implicitDirectories.push(folder);
      }
    }
    const existing = this.nodes.get(path);
    if (existing) {
      const implicitFolder = existing.kind === 'directory' && !existing.explicit && entry.type === 'directory';
      if (!implicitFolder) return named('is listed twice in the archive (duplicate entry)');
    } else {
      const clash = this.caseClash(path);
      if (clash) return named(clash);
    }

    let node: Node;
    if (entry.type === 'symlink') {
      const target = entry.linkTarget ?? '';
      const problem = this.symlinkProblem(parsed, target);
      if (problem) return named(problem);
      node = { kind: 'symlink', target };
    } else if (entry.type === 'hardlink') {
      const problem = this.hardlinkProblem(entry.linkTarget ?? '');
      if (problem) return named(problem);
      node = { kind: 'file' };
    } else {
      node = entry.type === 'directory' ? { kind: 'directory', explicit: true } : { kind: 'file' };
    }
    for (const folder of implicitDirectories) this.add(folder, { kind: 'directory', explicit: false });
    this.add(path, node);
    const linkTarget = entry.type === 'hardlink' ? (normalise(entry.linkTarget ?? '') as string[]).join('/') : entry.linkTarget;
    return { ok: true, entry: { ...entry, path, linkTarget, implicitDirectories } };
  }

  /**
   * Every symlink resolved against the complete tree: a link that was dangling
   * when it arrived may have been given a way out by a later link (`a -> b/..`, then `b -> .`).
   */
  finalProblem(): string | undefined {
    for (const [path, node] of this.nodes) {
      if (node.kind !== 'symlink') continue;
      const parts = path.split('/');
      const where = this.resolve(parts.slice(0, -1), node.target, 0);
      if (typeof where === 'string') return `entry ${JSON.stringify(path)}: link target ${JSON.stringify(node.target)} ${where}`;
    }
    return undefined;
  }

  private add(path: string, node: Node): void {
    this.nodes.set(path, node);
    this.folded.set(fold(path), path);
  }

  private caseClash(path: string): string | undefined {
    const other = this.folded.get(fold(path));
    return other !== undefined && other !== path ? `differs from the entry ${JSON.stringify(other)} only in letter case` : undefined;
  }

  private symlinkProblem(parsed: string[], target: string): string | undefined {
    if (target === '' || target.includes('\0')) return 'link target is empty or contains NUL';
    if (target.startsWith('/') || target.includes('\\') || /^[A-Za-z]:/.test(target)) return `link target ${JSON.stringify(target)} is absolute`;
    if (Buffer.byteLength(target) > MAX_PATH_BYTES) return `link target is longer than ${MAX_PATH_BYTES} bytes`;
    const where = this.resolve(parsed.slice(0, -1), target, 0);
    return typeof where === 'string' ? `link target ${JSON.stringify(target)} ${where}` : undefined;
  }

  /** Resolves `target` from folder `from`, following the tree's symlinks; a string says why it leaves the root. */
  private resolve(from: string[], target: string, hops: number): string[] | string {
    if (hops > MAX_LINK_HOPS) return 'goes through too many symlinks';
    const at = [...from];
    let via: string | undefined;
    const out = () => `points outside the bundle${via ? ` (through the symlink ${JSON.stringify(via)})` : ''}`;
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (at.length === 0) return out();
        at.pop();
        continue;
      }
      at.push(part);
      const link = at.join('/');
      const node = this.nodes.get(link);
      if (node?.kind === 'symlink') {
        via ??= link;
        const through = this.resolve(at.slice(0, -1), node.target, hops + 1);
        if (typeof through === 'string') return through.includes('through') ? through : out();
        at.splice(0, at.length, ...through);
      }
    }
    return at;
  }

  private hardlinkProblem(target: string): string | undefined {
    const parsed = normalise(target);
    if (typeof parsed === 'string') return `hard link target ${JSON.stringify(target)}: ${parsed}`;
    const path = parsed.join('/');
    for (let i = 1; i < parsed.length; i++) {
      if (this.nodes.get(parsed.slice(0, i).join('/'))?.kind !== 'directory') {
        return `hard link target ${JSON.stringify(target)} is not a regular file extracted earlier in the bundle`;
      }
    }
    const node = this.nodes.get(path);
    if (node?.kind === 'symlink') return `hard link target ${JSON.stringify(target)} is a symlink`;
    if (node?.kind !== 'file') return `hard link target ${JSON.stringify(target)} is not a regular file extracted earlier in the bundle`;
    return undefined;
  }
}

const fold = (path: string) => path.normalize('NFC').toLowerCase();

/** The path's components, or why it is refused. `./a//b/` is `a/b`. */
function normalise(path: string): string[] | string {
  if (path.includes('\0')) return 'contains NUL';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) return 'is an absolute or Windows-style path';
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return 'has an empty name';
  if (parts.includes('..')) return 'climbs out of the bundle (..)';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (parts.length > MAX_PATH_DEPTH) return `is nested deeper than ${MAX_PATH_DEPTH} folders`;
  if (parts.some((p) => Buffer.byteLength(p) > MAX_NAME_BYTES)) return `has a name longer than ${MAX_NAME_BYTES} bytes`;
  return parts;
}
