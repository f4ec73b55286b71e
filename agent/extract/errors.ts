/** The bundle itself is unsafe or damaged: reported as BundleIntegrity, naming the entry. */
export class BundleIntegrityError extends Error {
  override readonly name = 'BundleIntegrityError';
  /** How many bytes had been written when the archive was refused (set by the extractor). */
  bytesWritten?: number;
}
