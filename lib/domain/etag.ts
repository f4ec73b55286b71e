/** An ETag without its quotes or weak marker: `"abc"`, `W/"abc"` and `abc` are the same tag. */
export function unquoteETag(tag: string): string {
  return tag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

export function sameETag(a: string, b: string): boolean {
  return unquoteETag(a) === unquoteETag(b);
}

/**
 * A multipart upload's ETag (`<hex>-<parts>`): not the MD5 of the object, so
 * it cannot prove a download's content by itself.
 */
export function isMultipartETag(tag: string): boolean {
  return /-\d+$/.test(unquoteETag(tag));
}
