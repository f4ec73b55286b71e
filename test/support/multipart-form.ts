import { unquoteETag } from '../../lib/domain/etag.js';
import type { AppspecSource } from '../../lib/ports.js';

/**
 * s3rver gives every object an MD5 ETag, even after a multipart upload. This
 * revision check records it in the form a multipart upload has in S3
 * (`<hex>-2`), which proves nothing of the content: what is checked against it
 * must go by size and SHA-256 alone.
 */
export function multipartForm(real: AppspecSource): AppspecSource {
  return {
    head: async (revision) => {
      const head = await real.head(revision);
      return 'problem' in head ? head : { ...head, eTag: `"${unquoteETag(head.eTag)}-2"` };
    },
    read: (revision) => real.read(revision),
    sha256: (revision) => real.sha256({ ...revision, eTag: revision.eTag?.replace(/-2"$/, '"') }),
  };
}
