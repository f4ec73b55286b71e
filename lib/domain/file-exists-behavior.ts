import { z } from 'zod';
import { schema } from './schema.js';

// A module of its own: appspec.yml validation (loaded lazily) needs the schema, and sharing a
// module with what a function loads at cold start would pull zod into that cold start.
export const FILE_EXISTS_BEHAVIORS = ['DISALLOW', 'OVERWRITE', 'RETAIN'] as const;
export type FileExistsBehavior = (typeof FILE_EXISTS_BEHAVIORS)[number];

export const fileExistsBehaviorSchema = /* @__PURE__ */ schema(() =>
  z.enum(FILE_EXISTS_BEHAVIORS, { error: `must be one of ${FILE_EXISTS_BEHAVIORS.join(', ')}` }),
);
