import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { type FileExistsBehavior, fileExistsBehaviorSchema } from './deployment-group.js';
import { LIFECYCLE_EVENTS, TRAFFIC_EVENTS } from './lifecycle.js';
import { issuesToDetails } from './validation.js';

/** CodeDeploy's appspec.yml for EC2/on-premises deployments (version 0.0). */
export interface Appspec {
  version: '0.0';
  os: 'linux';
  files: { source: string; destination: string }[];
  permissions: Permission[];
  /** Scripts per lifecycle event, in the order they run. */
  hooks: Partial<Record<HookEvent, HookScript[]>>;
  fileExistsBehavior?: FileExistsBehavior | undefined;
}

export interface Permission {
  object: string;
  pattern: string;
  except: string[];
  owner?: string | undefined;
  group?: string | undefined;
  mode?: string | undefined;
  acls: string[];
  context?: { user?: string | undefined; type: string; range?: string | undefined } | undefined;
  type: ('file' | 'directory')[];
}

export interface HookScript {
  location: string;
  timeout: number;
  runas?: string | undefined;
}

/** Events that may carry scripts. DownloadBundle, Install, BlockTraffic and AllowTraffic are the agent's own. */
export const HOOK_EVENTS = [
  'ApplicationStop',
  'BeforeInstall',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
  'BeforeBlockTraffic',
  'AfterBlockTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];
const RESERVED_EVENTS = ['DownloadBundle', 'Install', 'BlockTraffic', 'AllowTraffic'];
const KNOWN_EVENTS = new Set<string>([...LIFECYCLE_EVENTS, ...TRAFFIC_EVENTS]);

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 3600;
/** Largest appspec.yml we read (CodeDeploy bundles keep it small; this bounds parsing work). */
export const MAX_APPSPEC_BYTES = 256 * 1024;

export class AppspecError extends ValidationError {}

const text = (what: string) => z.string({ error: `${what} must be a string` }).min(1, `${what} must not be empty`);
const absolutePath = text('a destination').refine((p) => p.startsWith('/'), 'must be an absolute path (starting with /)');
const bundlePath = text('a source').refine(
  (p) => !p.split(/[\\/]/).includes('..'),
  'must stay inside the bundle (no ..)',
);

const permissionSchema = z
  .strictObject({
    object: absolutePath,
    pattern: z.string({ error: 'must be a string' }).min(1).default('**'),
    except: z.array(z.string({ error: 'must be a string' }), { error: 'must be a list of patterns' }).default([]),
    owner: text('an owner').optional(),
    group: text('a group').optional(),
    mode: z
      .union([z.string(), z.number()], { error: 'must be an octal mode such as 755' })
      .transform((m) => String(m))
      .refine((m) => /^[0-7]{1,4}$/.test(m), 'must be 1 to 4 octal digits, such as 755 or 4755')
      .optional(),
    acls: z.array(z.string({ error: 'must be a string' }), { error: 'must be a list of ACL entries' }).default([]),
    context: z
      .strictObject({
        user: z.string().optional(),
        type: text('a SELinux type'),
        range: z.string().optional(),
      })
      .optional(),
    type: z
      .array(z.enum(['file', 'directory'], { error: 'must be file or directory' }), { error: 'must be a list of file / directory' })
      .default(['file', 'directory']),
  })
;

const hookScriptSchema = z.strictObject({
  location: text('a script location'),
  timeout: z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .positive('must be greater than 0')
    .default(DEFAULT_HOOK_TIMEOUT_SECONDS),
  runas: text('a user name').optional(),
});

const hooksSchema = z
  .record(z.string(), z.array(hookScriptSchema, { error: 'must be a list of scripts' }).min(1, 'must list at least one script'), {
    error: 'must be a mapping of lifecycle event names to scripts',
  })
  .superRefine((hooks, ctx) => {
    for (const name of Object.keys(hooks)) {
      if (RESERVED_EVENTS.includes(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} is performed by the agent itself and cannot have scripts` });
      } else if (!KNOWN_EVENTS.has(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `is not a lifecycle event (known: ${HOOK_EVENTS.join(', ')})` });
      }
    }
  });

const appspecSchema = z.strictObject({
  version: z
    .union([z.literal(0), z.literal('0.0')], { error: 'must be 0.0' })
    .transform(() => '0.0' as const),
  os: z.string({ error: 'must be linux' }).superRefine((os, ctx) => {
    if (os === 'linux') return;
    ctx.addIssue({
      code: 'custom',
      message: os === 'windows' ? 'windows is not supported by this agent (linux only)' : 'must be linux',
    });
  }),
  files: z
    .array(z.strictObject({ source: bundlePath, destination: absolutePath }), { error: 'must be a list of {source, destination}' })
    .nullable()
    .transform((f) => f ?? [])
    .default([]),
  permissions: z.array(permissionSchema, { error: 'must be a list of permission entries' }).nullable().transform((p) => p ?? []).default([]),
  hooks: hooksSchema.nullable().transform((h) => h ?? {}).default({}),
  file_exists_behavior: fileExistsBehaviorSchema.optional(),
});

/**
 * Parses and validates an appspec.yml. Every problem is reported at once, each
 * naming its key path and the rule; nothing else is ever thrown.
 */
export function parseAppspec(source: string): Appspec {
  if (Buffer.byteLength(source) > MAX_APPSPEC_BYTES) {
    throw new AppspecError(`appspec.yml is larger than ${MAX_APPSPEC_BYTES} bytes`, [{ path: '$', message: 'is too large' }]);
  }
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new AppspecError('appspec.yml is not valid YAML', doc.errors.map((e) => ({ path: '$', message: e.message })));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new AppspecError('appspec.yml is not valid YAML', [{ path: '$', message: (error as Error).message }]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AppspecError('appspec.yml must be a mapping', [{ path: '$', message: 'must be a mapping with version, os, files, hooks…' }]);
  }
  const result = appspecSchema.safeParse(data);
  if (!result.success) {
    const details = issuesToDetails(result.error.issues);
    throw new AppspecError(`appspec.yml is not valid: ${details.length} problem(s)`, details);
  }
  const { file_exists_behavior, hooks, ...rest } = result.data;
  return {
    ...rest,
    version: '0.0',
    os: 'linux',
    hooks: hooks as Appspec['hooks'],
    ...(file_exists_behavior ? { fileExistsBehavior: file_exists_behavior } : {}),
  };
}

/**
 * CodeDeploy's rule for a permission whose object turns out to be a file (known
 * only once the bundle is installed): with type `file`, no pattern but `**` and
 * no `except`. Returns the problem, or undefined.
 */
export function filePermissionProblem(permission: Permission): string | undefined {
  if (!permission.type.includes('file')) return undefined;
  if (permission.pattern !== '**') return `pattern "${permission.pattern}" cannot apply to the file ${permission.object} (only **)`;
  if (permission.except.length > 0) return `except cannot apply to the file ${permission.object}`;
  return undefined;
}

/** How long the server waits for an event: the sum of its scripts' timeouts. */
export function eventTimeoutSeconds(appspec: Appspec, event: string): number {
  return (appspec.hooks[event as HookEvent] ?? []).reduce((sum, script) => sum + script.timeout, 0);
}
