/** A UTF-16 high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The text with each lone UTF-16 surrogate (which JSON's `\uD800` escapes can
 * carry, and no UTF-8 can encode) replaced by U+FFFD, as invalid UTF-8 bytes
 * are when a request body is decoded: text an agent reports is stored and
 * shown as well-formed Unicode. Length in UTF-16 units and UTF-8 bytes is unchanged.
 */
export function replaceLoneSurrogates(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}
