import { describe, expect, it } from 'vitest';
import { type Tag, type TagSet, matchesTagSet, tagSetSchema } from '../../lib/domain/tags.js';

const web: Tag[] = [
  { key: 'Name', value: 'web-1' },
  { key: 'env', value: 'prod' },
];

describe('tag set matching (CodeDeploy semantics)', () => {
  const cases: { name: string; tagSet: TagSet; tags: Tag[]; expected: boolean }[] = [
    { name: 'KEY_AND_VALUE needs both to match one tag', tagSet: [[{ type: 'KEY_AND_VALUE', key: 'env', value: 'prod' }]], tags: web, expected: true },
    { name: 'KEY_AND_VALUE does not match a value under another key', tagSet: [[{ type: 'KEY_AND_VALUE', key: 'Name', value: 'prod' }]], tags: web, expected: false },
    { name: 'KEY_ONLY matches any value', tagSet: [[{ type: 'KEY_ONLY', key: 'env' }]], tags: web, expected: true },
    { name: 'KEY_ONLY misses an absent key', tagSet: [[{ type: 'KEY_ONLY', key: 'team' }]], tags: web, expected: false },
    { name: 'VALUE_ONLY matches under any key', tagSet: [[{ type: 'VALUE_ONLY', value: 'web-1' }]], tags: web, expected: true },
    { name: 'matching is case-sensitive', tagSet: [[{ type: 'KEY_ONLY', key: 'ENV' }]], tags: web, expected: false },
    {
      name: 'filters in one group are OR-ed',
      tagSet: [[{ type: 'KEY_ONLY', key: 'team' }, { type: 'VALUE_ONLY', value: 'prod' }]],
      tags: web,
      expected: true,
    },
    {
      name: 'groups are AND-ed: all must match',
      tagSet: [[{ type: 'KEY_ONLY', key: 'env' }], [{ type: 'KEY_AND_VALUE', key: 'Name', value: 'web-2' }]],
      tags: web,
      expected: false,
    },
    {
      name: 'groups are AND-ed: each matched by a different tag',
      tagSet: [[{ type: 'KEY_ONLY', key: 'env' }], [{ type: 'KEY_AND_VALUE', key: 'Name', value: 'web-1' }]],
      tags: web,
      expected: true,
    },
    { name: 'an empty tag set selects nothing', tagSet: [], tags: web, expected: false },
    { name: 'an untagged instance matches nothing', tagSet: [[{ type: 'KEY_ONLY', key: 'env' }]], tags: [], expected: false },
  ];
  it.each(cases)('$name', ({ tagSet, tags, expected }) => {
    expect(matchesTagSet(tagSet, tags)).toBe(expected);
  });
});

describe('tag set validation', () => {
  const filter = { type: 'KEY_ONLY', key: 'env' };

  it('accepts 3 groups of 10 filters', () => {
    const tagSet = Array.from({ length: 3 }, () => Array.from({ length: 10 }, () => filter));
    expect(tagSetSchema.safeParse(tagSet).success).toBe(true);
  });

  it('rejects a fourth tag group', () => {
    const result = tagSetSchema.safeParse(Array.from({ length: 4 }, () => [filter]));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at most 3 tag groups/);
  });

  it('rejects an eleventh filter in a group, naming the group', () => {
    const result = tagSetSchema.safeParse([[], Array.from({ length: 11 }, () => filter)]);
    const messages = result.error?.issues.map((i) => [i.path.join('.'), i.message]);
    expect(messages).toContainEqual(['1', 'a tag group holds at most 10 filters']);
    expect(messages).toContainEqual(['0', 'a tag group needs at least one filter']);
  });
});
