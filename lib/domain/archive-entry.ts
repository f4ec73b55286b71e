/** One entry of a bundle archive, as far as safety is concerned (see archive-tree.ts for the rules). */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** For links: the target as stored (a symlink's from its own folder, a hard link's from the root). */
  linkTarget?: string | undefined;
}
