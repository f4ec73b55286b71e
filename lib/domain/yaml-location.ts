import type { Document, LineCounter } from 'yaml';
import type { ErrorDetail } from '../errors.js';

/**
 * Where a problem stands in a YAML document (appspec.yml, buildspec.yml): the line and column
 * of the node at `path`, or of its nearest ancestor the document has, when it has one.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}

/** A located problem's message names its line and column too. */
export const withLine = (d: ErrorDetail): ErrorDetail => (d.line ? { ...d, message: `${d.message} (line ${d.line}, column ${d.column ?? 1})` } : d);
