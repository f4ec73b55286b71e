import { posix } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { type ErrorDetail, ValidationError } from '../errors.js';
import { parseAclEntry, selinuxRangeProblem } from './appspec-permissions.js';
import { type FileExistsBehavior, fileExistsBehaviorSchema } from './file-exists-behavior.js';
import { LIFECYCLE_EVENTS, TRAFFIC_EVENTS } from './lifecycle.js';
import { issuesToDetails } from './validation.js';
import { schema } from './schema.js';

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

/** A missing field is "required"; a present one of the wrong type is described. */
const expected = (what: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`);
const text = (what = 'a string') => z.string({ error: expected(what) }).min(1, 'must not be empty');
const absolutePath = /* @__PURE__ */ schema(() => text('an absolute path').refine((p) => p.startsWith('/'), 'must be an absolute path (starting with /)'));
const bundlePath = /* @__PURE__ */ schema(() => text().refine((p) => !p.split(/[\\/]/).includes('..'), 'must stay inside the bundle (no ..)'));
/** Patterns match names directly inside `object` (CodeDeploy's simple globs), never paths. */
const simpleGlob = /* @__PURE__ */ schema(() => z.string({ error: expected('a pattern such as "*.sh"') }).min(1, 'must not be empty').refine((g) => !g.includes('/'), 'matches names inside object, so it cannot contain /'));

const aclEntry = /* @__PURE__ */ schema(() => z.string({ error: expected('an ACL entry such as u:bob:rw') }).superRefine((entry, ctx) => {
  const parsed = parseAclEntry(entry);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
}));

const contextSchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    /** The SELinux user; CodeDeploy's documentation says `user`, its agent reads `name`: both are accepted. */
    user: text().optional(),
    name: text().optional(),
    type: text('a SELinux type such as httpd_sys_content_t'),
    range: text('a SELinux range such as s0 or s0-s1:c0.c3')
      .superRefine((range, ctx) => {
        const problem = selinuxRangeProblem(range);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    role: z.unknown().refine((r) => r === undefined, 'SELinux roles are not supported (CodeDeploy refuses them too): remove role').optional(),
  }, { error: expected('a mapping with type (and user, range)') })
  .superRefine((context, ctx) => {
    if (context.user !== undefined && context.name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'give the SELinux user once, as user or as name' });
    }
  })
  .transform(({ user, name, type, range }) => ({ user: user ?? name, type, range })));

const permissionSchema = /* @__PURE__ */ schema(() => z.strictObject(
  {
    object: absolutePath,
    pattern: simpleGlob.default('**'),
    except: z.array(simpleGlob, { error: expected('a list of patterns') }).default([]),
    owner: text('a user name').optional(),
    group: text('a group name').optional(),
    mode: z
      .union([z.string(), z.number()], { error: expected('an octal mode such as 755') })
      .transform((m) => String(m))
      .refine((m) => /^[0-7]{1,4}$/.test(m), 'must be 1 to 4 octal digits, such as 755 or 4755')
      .optional(),
    acls: z.array(aclEntry, { error: expected('a list of ACL entries') }).default([]),
    context: contextSchema.optional(),
    type: z
      .array(z.enum(['file', 'directory'], { error: 'must be file or directory' }), { error: expected('a list of file / directory') })
      .default(['file', 'directory']),
  },
  { error: expected('a mapping with object, pattern, mode…') },
));

const hookScriptSchema = /* @__PURE__ */ schema(() => z.strictObject(
  {
    location: text('a script path'),
    timeout: z
      .number({ error: expected('a number of seconds') })
      .int('must be a whole number of seconds')
      .positive('must be greater than 0')
      .default(DEFAULT_HOOK_TIMEOUT_SECONDS),
    runas: text('a user name').optional(),
  },
  { error: expected('a mapping with location (and timeout, runas)') },
));

const hooksSchema = /* @__PURE__ */ schema(() => z
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
  }));

const appspecSchema = /* @__PURE__ */ schema(() => z.strictObject({
  version: z
    .union([z.literal(0), z.literal('0.0')], { error: expected('0.0') })
    .transform(() => '0.0' as const),
  os: z.string({ error: expected('linux') }).superRefine((os, ctx) => {
    if (os === 'linux') return;
    ctx.addIssue({
      code: 'custom',
      message: os === 'windows' ? 'windows is not supported by this agent (linux only)' : 'must be linux',
    });
  }),
  files: z
    .array(z.strictObject({ source: bundlePath, destination: absolutePath }, { error: expected('a mapping with source and destination') }), {
      error: 'must be a list of {source, destination}',
    })
    .nullable()
    .transform((f) => f ?? [])
    .default([]),
  permissions: z.array(permissionSchema, { error: 'must be a list of permission entries' }).nullable().transform((p) => p ?? []).default([]),
  hooks: hooksSchema.nullable().transform((h) => h ?? {}).default({}),
  file_exists_behavior: fileExistsBehaviorSchema.optional(),
}));

type Problem = { path: (string | number)[]; message: string };

/**
 * Rules across permission entries, checked on the raw document so they are
 * reported together with every other problem: one permission per object, and
 * what cannot apply to a file.
 */
function permissionRuleProblems(data: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const permissions = Array.isArray(data.permissions) ? data.permissions : [];
  const files = Array.isArray(data.files) ? data.files : [];
  // Where a files entry installs a named source: that path is a file (a directory's contents land in destination itself).
  const installedFiles = new Set<string>();
  for (const f of files) {
    if (!isRecord(f) || typeof f.source !== 'string' || typeof f.destination !== 'string') continue;
    const source = posix.normalize(f.source);
    if (source === '/' || source === '.' || f.source.endsWith('/')) continue;
    installedFiles.add(normalObject(posix.join(f.destination, posix.basename(source))));
  }
  const firstSeen = new Map<string, number>();
  permissions.forEach((p, i) => {
    if (!isRecord(p) || typeof p.object !== 'string' || p.object === '') return;
    const object = normalObject(p.object);
    const first = firstSeen.get(object);
    if (first !== undefined) {
      problems.push({ path: ['permissions', i, 'object'], message: `${p.object} already has a permission entry ($.permissions[${first}]): list each object once` });
    } else firstSeen.set(object, i);

    const types = Array.isArray(p.type) ? p.type : ['file', 'directory'];
    if (!types.includes('file')) return;
    const acls = Array.isArray(p.acls) ? p.acls : [];
    acls.forEach((entry, k) => {
      const parsed = typeof entry === 'string' ? parseAclEntry(entry) : undefined;
      if (parsed && typeof parsed !== 'string' && parsed.isDefault) {
        problems.push({ path: ['permissions', i, 'acls', k], message: 'default ACL entries apply to directories only: set type: [directory]' });
      }
    });
    if (!installedFiles.has(object)) return;
    if (p.pattern !== undefined && p.pattern !== '**') {
      problems.push({ path: ['permissions', i, 'pattern'], message: `${p.object} is a file (installed by files): only "**" applies to a file` });
    }
    if (Array.isArray(p.except) && p.except.length > 0) {
      problems.push({ path: ['permissions', i, 'except'], message: `${p.object} is a file (installed by files): except cannot apply to a file` });
    }
  });
  return problems;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const normalObject = (p: string) => posix.normalize(p).replace(/(.)\/+$/, '$1');

/** Attaches the line and column of the offending node, when the document has one there. */
function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}

const withLine = (d: ErrorDetail): ErrorDetail => (d.line ? { ...d, message: `${d.message} (line ${d.line}, column ${d.column ?? 1})` } : d);

/**
 * Parses and validates an appspec.yml. Every problem is reported at once, each
 * naming its key path, line and the rule; nothing else is ever thrown.
 */
export function parseAppspec(source: string): Appspec {
  if (Buffer.byteLength(source) > MAX_APPSPEC_BYTES) {
    throw new AppspecError(`appspec.yml is larger than ${MAX_APPSPEC_BYTES} bytes`, [{ path: '$', message: 'is too large' }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { path: '$', message: `${e.message} (line ${line}, column ${col})`, line, column: col };
    });
    throw new AppspecError('appspec.yml is not valid YAML', details);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new AppspecError('appspec.yml is not valid YAML', [{ path: '$', message: (error as Error).message }]);
  }
  if (!isRecord(data)) {
    throw new AppspecError('appspec.yml must be a mapping', [{ path: '$', message: 'must be a mapping with version, os, files, hooks…' }]);
  }
  const result = appspecSchema.safeParse(data);
  const ruleIssues = permissionRuleProblems(data).map((p): z.core.$ZodIssue => ({ ...p, code: 'custom', input: undefined }));
  const issues = [...(result.success ? [] : result.error.issues), ...ruleIssues];
  if (!result.success || issues.length > 0) {
    const details = issuesToDetails(issues, '$', (path) => locate(doc, lines, path)).map(withLine);
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
