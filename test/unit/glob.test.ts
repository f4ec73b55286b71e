import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessRule, accessRuleBodySchema, evaluateAccess } from '../../lib/domain/access.js';
import { MAX_PATTERN_CHARS, MAX_PATTERN_WILDCARDS, type StepCounter, globMatch, patternProblem } from '../../lib/domain/glob.js';

/** The textbook definition, by dynamic programming over (pattern, value) suffixes: slow but obviously right. */
function reference(pattern: string, value: string): boolean {
  const memo = new Map<string, boolean>();
  const at = (p: number, v: number): boolean => {
    const key = `${p},${v}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (p === pattern.length) result = v === value.length;
    else if (pattern[p] === '*') result = at(p + 1, v) || (v < value.length && at(p, v + 1));
    else result = v < value.length && (pattern[p] === '?' || pattern[p] === value[v]) && at(p + 1, v + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

// A small alphabet so that random patterns and values actually collide.
const alphabet = fc.constantFrom('a', 'b', '/', ':', '.', '*', '?');
const text = fc.constantFrom('a', 'b', '/', ':', '.', '*', '?');

describe('glob matching', () => {
  it('agrees with the reference definition on random patterns and values', () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 14 }), fc.string({ unit: text, maxLength: 20 }), (pattern, value) => {
        expect(globMatch(pattern, value)).toBe(reference(pattern, value));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on values built to match (so both answers are exercised)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: text, maxLength: 4 }), fc.constantFrom('*', '?', '')), { maxLength: 6 }), (parts) => {
        const pattern = parts.map(([literal, wildcard]) => literal + wildcard).join('');
        const value = parts.map(([literal, wildcard]) => literal + (wildcard === '*' ? 'ab' : wildcard === '?' ? 'x' : '')).join('');
        expect(globMatch(pattern, value)).toBe(true);
        expect(reference(pattern, value)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('bounds the work by (pattern + 1) × (value + 1) steps, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ unit: text, maxLength: 200 }), (pattern, value) => {
        const counter: StepCounter = { steps: 0 };
        globMatch(pattern, value, counter);
        expect(counter.steps).toBeLessThanOrEqual((pattern.length + 1) * (value.length + 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('evaluates the patterns that made regular expressions backtrack in a bounded number of steps', () => {
    // The report's 23-character pattern, and the longest, most wildcarded pattern a rule may hold.
    const value = `arn:aws:sts::111122223333:assumed-role/${'a'.repeat(200)}/x`;
    const hostile = [
      '*a*a*a*a*a*a*a*a*a*a*b',
      `${'*a'.repeat(MAX_PATTERN_WILDCARDS)}${'a'.repeat(MAX_PATTERN_CHARS - 2 * MAX_PATTERN_WILDCARDS - 1)}b`,
      `${'?'.repeat(MAX_PATTERN_WILDCARDS - 1)}*`.padEnd(MAX_PATTERN_CHARS, 'a'),
    ];
    for (const pattern of hostile) {
      expect(patternProblem(pattern)).toBeUndefined();
      const counter: StepCounter = { steps: 0 };
      expect(globMatch(pattern, value, counter)).toBe(false);
      expect(counter.steps).toBeLessThanOrEqual((pattern.length + 1) * (value.length + 1));
    }
  });

  it('refuses patterns that are too long or too wildcarded, naming the limit', () => {
    expect(patternProblem('a'.repeat(MAX_PATTERN_CHARS + 1))).toBe(`must be at most ${MAX_PATTERN_CHARS} characters`);
    expect(patternProblem('*?'.repeat(9))).toBe(`must hold at most ${MAX_PATTERN_WILDCARDS} wildcards (* and ?), not 18`);
    const parsed = accessRuleBodySchema.safeParse({ effect: 'Deny', principals: ['*'], actions: ['*'], resources: ['*a'.repeat(17)] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['resources', 0], message: expect.stringMatching(/at most 16 wildcards/) });
  });
});

describe('admins are decided before any rule is evaluated', () => {
  it('spends no matching step on rules for an administrator, however many hostile rules exist', () => {
    const hostile: AccessRule[] = Array.from({ length: 50 }, (_, i) => ({
      id: `hostile-${i}`,
      effect: 'Deny',
      principals: ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'],
      actions: ['*'],
      resources: ['*'],
    }));
    const admin = 'arn:aws:sts::111122223333:assumed-role/platform-admin/alice';
    const counter: StepCounter = { steps: 0 };
    const decision = evaluateAccess({ principal: admin, action: 'access:delete', resource: 'access-rule/hostile-0' }, hostile, ['arn:aws:iam::111122223333:role/platform-admin'], counter);
    expect(decision).toEqual({ allowed: true, rule: 'admin' });
    expect(counter.steps).toBe(0);
  });
});
