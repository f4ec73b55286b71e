import { z } from 'zod';
import { schema } from './schema.js';

/** A tag on an EC2 or registered instance. */
export interface Tag {
  key: string;
  value: string;
}

export const TAG_FILTER_TYPES = ['KEY_ONLY', 'VALUE_ONLY', 'KEY_AND_VALUE'] as const;
export type TagFilterType = (typeof TAG_FILTER_TYPES)[number];

export interface TagFilter {
  key?: string | undefined;
  value?: string | undefined;
  type: TagFilterType;
}

/** Tag groups are AND-ed; the filters inside one group are OR-ed (CodeDeploy's tag sets). */
export type TagSet = TagFilter[][];

export const MAX_TAG_GROUPS = 3;
export const MAX_FILTERS_PER_GROUP = 10;

const tagKey = /* @__PURE__ */ schema(() => z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'));
const tagValue = /* @__PURE__ */ schema(() => z.string({ error: 'must be a string' }).max(256, 'must be at most 256 characters'));

/** Which fields each filter type needs (true) or forbids (false). */
const FIELDS_BY_TYPE: Record<TagFilterType, { key: boolean; value: boolean }> = {
  KEY_ONLY: { key: true, value: false },
  VALUE_ONLY: { key: false, value: true },
  KEY_AND_VALUE: { key: true, value: true },
};

export const tagFilterSchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    key: tagKey.optional(),
    value: tagValue.optional(),
    type: z.enum(TAG_FILTER_TYPES, { error: `must be one of ${TAG_FILTER_TYPES.join(', ')}` }),
  })
  .superRefine((filter, ctx) => {
    const needs = FIELDS_BY_TYPE[filter.type];
    for (const field of ['key', 'value'] as const) {
      const present = filter[field] !== undefined;
      if (needs[field] && !present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `is required when type is ${filter.type}` });
      } else if (!needs[field] && present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `must be absent when type is ${filter.type}` });
      }
    }
  }));

export const tagSetSchema = /* @__PURE__ */ schema(() => z
  .array(
    z
      .array(tagFilterSchema, { error: 'must be an array of tag filters' })
      .min(1, 'a tag group needs at least one filter')
      .max(MAX_FILTERS_PER_GROUP, `a tag group holds at most ${MAX_FILTERS_PER_GROUP} filters`),
    { error: 'must be an array of tag groups (arrays of filters)' },
  )
  .max(MAX_TAG_GROUPS, `a tag set holds at most ${MAX_TAG_GROUPS} tag groups`));

export const instanceTagsSchema = /* @__PURE__ */ schema(() => z
  .array(z.strictObject({ key: tagKey, value: tagValue }), { error: 'must be an array of {key, value}' })
  .max(50, 'an instance holds at most 50 tags')
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((tag, i) => {
      if (seen.has(tag.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate tag key "${tag.key}"` });
      seen.add(tag.key);
    });
  }));

function filterMatches(filter: TagFilter, tags: readonly Tag[]): boolean {
  switch (filter.type) {
    case 'KEY_ONLY':
      return tags.some((t) => t.key === filter.key);
    case 'VALUE_ONLY':
      return tags.some((t) => t.value === filter.value);
    case 'KEY_AND_VALUE':
      return tags.some((t) => t.key === filter.key && t.value === filter.value);
  }
}

/** True when every tag group has at least one matching filter. An empty tag set selects nothing. */
export function matchesTagSet(tagSet: TagSet, tags: readonly Tag[]): boolean {
  if (tagSet.length === 0) return false;
  return tagSet.every((group) => group.some((filter) => filterMatches(filter, tags)));
}
