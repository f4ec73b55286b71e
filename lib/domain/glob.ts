/**
 * Glob matching for access rules: `*` matches any run of characters (including
 * none), `?` exactly one; every other character matches itself. No regular
 * expression is built, so no pattern can make matching backtrack: the matcher
 * only ever returns to the most recent `*`, which bounds the work by
 * (pattern length + 1) × (value length + 1) steps.
 */

/** Longest pattern a rule may hold (a role ARN is at most 2048 characters; patterns are shorter in practice). */
export const MAX_PATTERN_CHARS = 512;
/** Most wildcards (`*` and `?` together) one pattern may hold. */
export const MAX_PATTERN_WILDCARDS = 16;

/** Why a pattern cannot be stored, or undefined when it can. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_CHARS) return `must be at most ${MAX_PATTERN_CHARS} characters`;
  let wildcards = 0;
  for (const c of pattern) if (c === '*' || c === '?') wildcards++;
  if (wildcards > MAX_PATTERN_WILDCARDS) return `must hold at most ${MAX_PATTERN_WILDCARDS} wildcards (* and ?), not ${wildcards}`;
  return undefined;
}

/** Counts the comparison steps of one match (for tests that bound the work without timing it). */
export interface StepCounter {
  steps: number;
}

export function globMatch(pattern: string, value: string, counter?: StepCounter): boolean {
  return starMatch(pattern.length, value.length, (p) => pattern[p] === '*', (p, v) => pattern[p] === '?' || pattern[p] === value[v], counter);
}

/**
 * The matcher behind each glob here and in artifact paths (artifact-glob.ts): a pattern of
 * items against a value of items, where a star item matches any run of value items (none
 * included) and any other item matches one value item when `matches` says so. It only ever
 * returns to the most recent star, which bounds the work by
 * (pattern length + 1) × (value length + 1) steps.
 */
export function starMatch(
  patternLength: number,
  valueLength: number,
  isStar: (p: number) => boolean,
  matches: (p: number, v: number) => boolean,
  counter?: StepCounter,
): boolean {
  let p = 0;
  let v = 0;
  // Where to resume after the last star: the pattern just past it, and the value position it has absorbed up to.
  let starP = -1;
  let starV = 0;
  let steps = 0;
  while (v < valueLength) {
    steps++;
    if (p < patternLength && isStar(p)) {
      starP = ++p;
      starV = v;
    } else if (p < patternLength && matches(p, v)) {
      p++;
      v++;
    } else if (starP >= 0) {
      p = starP;
      v = ++starV;
    } else {
      if (counter) counter.steps += steps;
      return false;
    }
  }
  while (p < patternLength && isStar(p)) {
    steps++;
    p++;
  }
  if (counter) counter.steps += steps;
  return p === patternLength;
}
