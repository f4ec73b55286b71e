import { z } from 'zod';
import { type ErrorDetail, ValidationError } from '../errors.js';

type PathSegment = PropertyKey;

/** Renders a path as JSONPath: `$.targets.ec2TagSet[0][1].type`. */
export function jsonPath(segments: readonly PathSegment[], root = '$'): string {
  let out = root;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** Where a path is in a source document (1-based), for documents that have lines. */
export type Locate = (segments: readonly PathSegment[]) => { line: number; column: number } | undefined;

/** One detail per problem; an unknown field is named by its own path. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[], root = '$', locate?: Locate): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const detail = (path: readonly PathSegment[], message: string): ErrorDetail => ({ path: jsonPath(path, root), message, ...locate?.(path) });
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details.push(detail([...issue.path, key], 'is not a known field'));
    } else if (issue.code === 'invalid_union' && furthestBranch(issue.errors)) {
      // The value chose a branch (it got past the branch's top level): report that branch's problems.
      const best = furthestBranch(issue.errors) ?? [];
      details.push(...issuesToDetails(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), root, locate));
    } else {
      details.push(detail(issue.path, issue.message));
    }
  }
  return details;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

function furthestBranch(branches: readonly z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  const best = [...branches].sort((a, b) => depth(b) - depth(a))[0];
  return best && depth(best) > 0 ? best : undefined;
}

/**
 * Parses `input` with `schema` or throws a ValidationError naming every problem.
 * `root` prefixes the paths: `$` for a JSON body, `path` or `query` for URL parts.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'request body',
  root = '$',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = issuesToDetails(result.error.issues, root);
  throw new ValidationError(`The ${what} is not valid: ${details.length} problem(s)`, details);
}
