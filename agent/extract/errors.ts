/** The bundle itself is unsafe or damaged: reported as BundleIntegrity, naming the entry. */
export class BundleIntegrityError extends Error {
  override readonly name = 'BundleIntegrityError';
}
