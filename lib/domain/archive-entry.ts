import { posix } from 'node:path';

/** One entry of a bundle archive, as far as safety is concerned. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** For links: the target as stored. */
  linkTarget?: string | undefined;
}

/**
 * Why an entry must not be extracted, or undefined when it is safe: every path
 * and every link target must stay inside the archive root; devices, FIFOs and
 * other special files are refused.
 */
export function entryProblem(entry: ArchiveEntry): string | undefined {
  const where = insideRoot(entry.path);
  if (where) return `${JSON.stringify(entry.path)}: ${where}`;
  if (entry.type === 'other') return `${JSON.stringify(entry.path)}: special files (devices, FIFOs) are not allowed`;
  if (entry.type === 'symlink' || entry.type === 'hardlink') {
    const target = entry.linkTarget ?? '';
    if (target === '' || target.startsWith('/') || target.includes('\0')) {
      return `${JSON.stringify(entry.path)}: link target ${JSON.stringify(target)} is absolute or empty`;
    }
    // A symlink resolves from its own folder; a hard link's name is relative to the archive root.
    const resolved = entry.type === 'symlink' ? posix.join(posix.dirname(entry.path), target) : posix.normalize(target);
    if (resolved === '..' || resolved.startsWith('../')) {
      return `${JSON.stringify(entry.path)}: link target ${JSON.stringify(target)} points outside the bundle`;
    }
  }
  return undefined;
}

function insideRoot(path: string): string | undefined {
  if (path === '' || path.includes('\0')) return 'empty or NUL in path';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) return 'absolute or Windows-style path';
  if (path.split('/').includes('..')) return 'path climbs out of the bundle (..)';
  return undefined;
}
