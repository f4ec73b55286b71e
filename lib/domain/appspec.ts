import { posix } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { type ApiErrorCode, type ErrorDetail, ValidationError } from '../errors.js';
import { MAX_REPORTED_TIMEOUT_SECONDS } from './agent-report.js';
import { parseAclEntry, selinuxRangeProblem } from './appspec-permissions.js';
import { type FileExistsBehavior, fileExistsBehaviorSchema } from './file-exists-behavior.js';
import { RUN_EVENTS, YAML11_OCTAL, appspecWarnings } from './appspec-warnings.js';
import { type PlanProblem, installPlanProblems } from './appspec-install-plan.js';
import { issuesToDetails, jsonPath } from './validation.js';
import { schema } from './schema.js';
import { locate, withLine } from './yaml-location.js';

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
  /** Run through sudo (CodeDeploy's `sudo` key: any value but false or empty means yes). */
  sudo?: boolean | undefined;
}

/** Events that may carry scripts. DownloadBundle, Install, BlockTraffic and AllowTraffic are the agent's own. */
export const HOOK_EVENTS = RUN_EVENTS;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 3600;
/** The most CodeDeploy documents for the scripts of one lifecycle event together. */
export const MAX_EVENT_TIMEOUT_SECONDS = 3600;

/** A problem, or something CodeDeploy would silently skip, with its path and line. */
export type AppspecWarning = ErrorDetail;
/** Largest appspec.yml we read (CodeDeploy bundles keep it small; this bounds parsing work). */
export const MAX_APPSPEC_BYTES = 256 * 1024;

export class AppspecError extends ValidationError {
  override readonly code: ApiErrorCode = 'AppspecError';
}

/** A missing field is "required"; a present one of the wrong type is described. */
const expected = (what: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`);
const text = (what = 'a string') => z.string({ error: expected(what) }).min(1, 'must not be empty');
const absolutePath = /* @__PURE__ */ schema(() => text('an absolute path').refine((p) => p.startsWith('/'), 'must be an absolute path (starting with /)'));
/** CodeDeploy joins a relative destination to its agent's working folder, `/` for the agent's service: read from `/` (with a warning). */
const destinationPath = /* @__PURE__ */ schema(() => text('a path').transform((p) => (p.startsWith('/') ? p : posix.resolve('/', p))));
const bundlePath = /* @__PURE__ */ schema(() => text().refine((p) => !p.split(/[\\/]/).includes('..'), 'must stay inside the bundle (no ..)'));
/** Patterns match names directly inside `object` (CodeDeploy's simple globs); one with `/` matches nothing (a warning). */
const simpleGlob = /* @__PURE__ */ schema(() => z.string({ error: expected('a pattern such as "*.sh"') }));

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

/** An empty key (`except:`) is read by the agent as if it were absent. */
const nullAsMissing = <T extends z.ZodType>(inner: T) => z.preprocess((v) => (v === null ? undefined : v), inner);

/** CodeDeploy's mode rule: the value as text, at most 4 characters, each 0-7 (its YAML reads 0755 unquoted as octal, 493). */
const modeSchema = /* @__PURE__ */ schema(() => z
  .union([z.string(), z.number()], { error: expected('an octal mode such as 755') })
  .transform((m) => String(m))
  .refine((m) => /^[0-7]{1,4}$/.test(m), 'must be 1 to 4 octal digits, such as 755 or 4755'));

const permissionSchema = /* @__PURE__ */ schema(() => z.object(
  {
    object: z.preprocess((o) => (typeof o === 'string' ? o.trim() : o), absolutePath),
    pattern: nullAsMissing(simpleGlob.default('**')),
    except: nullAsMissing(z.array(simpleGlob, { error: expected('a list of patterns') }).default([])),
    owner: text('a user name').optional(),
    group: text('a group name').optional(),
    mode: modeSchema.optional(),
    acls: nullAsMissing(z.array(aclEntry, { error: expected('a list of ACL entries') }).default([])),
    context: contextSchema.optional(),
    type: nullAsMissing(z
      .array(z.enum(['file', 'directory'], { error: 'must be file or directory' }), { error: expected('a list of file / directory') })
      .default(['file', 'directory'])),
  },
  { error: expected('a mapping with object, pattern, mode…') },
));

/**
 * A timeout as the agent reads it (Ruby's `to_i`): a number loses its
 * fraction, a string its leading digits ("300", "300s" are 300, "abc" is 0);
 * anything else stops the agent. Undefined when the agent could not read it.
 */
export function rubyToInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'string') {
    const digits = /^\s*([-+]?\d+(?:_\d+)*)/.exec(value)?.[1];
    return digits === undefined ? 0 : Number(digits.replace(/_/g, ''));
  }
  return undefined;
}

const timeoutSchema = /* @__PURE__ */ schema(() => z
  .unknown()
  .optional()
  .transform((value, ctx) => {
    if (value === null || value === undefined) return DEFAULT_HOOK_TIMEOUT_SECONDS;
    const seconds = rubyToInteger(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a number of seconds, such as 300' });
      return z.NEVER;
    }
    if (seconds <= 0) {
      ctx.addIssue({ code: 'custom', message: typeof value === 'string' && !/^\s*[-+]?\d/.test(value) ? `"${value}" is not a number of seconds (CodeDeploy reads it as 0 and refuses it)` : 'must be greater than 0' });
      return z.NEVER;
    }
    return seconds;
  }));

const hookScriptSchema = /* @__PURE__ */ schema(() => z.object(
  {
    // The agent strips the location and runas it reads; an empty runas still runs `su -c`, as root.
    location: z.preprocess((l) => (typeof l === 'string' || typeof l === 'number' ? String(l).trim() : l), text('a script path')),
    timeout: timeoutSchema,
    runas: z
      .union([z.string(), z.number()], { error: expected('a user name') })
      .nullish()
      .transform((r) => (r === null || r === undefined || String(r).trim() === '' ? undefined : String(r).trim())),
    sudo: z.unknown().optional().transform((v) => v !== undefined && v !== null && v !== false),
  },
  { error: expected('a mapping with location (and timeout, runas), as in "- location: scripts/start.sh"') },
).transform(({ location, timeout, runas, sudo }): HookScript => ({ location, timeout, ...(runas !== undefined ? { runas } : {}), ...(sudo ? { sudo } : {}) })));

/**
 * Every event's scripts are read (the agent refuses a bad script under any
 * name), but only the events it runs are kept; an empty event is left out.
 */
const hooksSchema = /* @__PURE__ */ schema(() => z
  .record(z.string(), z.array(hookScriptSchema, { error: 'must be a list of scripts ("- location: …")' }).nullable(), {
    error: 'must be a mapping of lifecycle event names to scripts',
  })
  .transform((hooks) => {
    const kept: Partial<Record<HookEvent, HookScript[]>> = {};
    for (const event of HOOK_EVENTS) {
      const scripts = Object.hasOwn(hooks, event) ? hooks[event] : undefined;
      if (scripts && scripts.length > 0) kept[event] = scripts;
    }
    return kept;
  }));

const appspecSchema = /* @__PURE__ */ schema(() => z.object({
  // The agent compares version with the number 0.0: `0.0` and `0` pass, the string "0.0" does not.
  version: z.unknown().optional().superRefine((v, ctx) => {
    if (v === 0) return;
    ctx.addIssue({
      code: 'custom',
      message: v === undefined ? 'is required' : typeof v === 'string' && Number(v) === 0
        ? `is the string "${v}": CodeDeploy compares version with the number 0.0 and refuses a string; write version: 0.0 without quotes`
        : 'must be 0.0',
    });
  }).transform(() => '0.0' as const),
  os: z.string({ error: expected('linux') }).superRefine((os, ctx) => {
    if (os === 'linux') return;
    ctx.addIssue({
      code: 'custom',
      message: os === 'windows'
        ? 'windows is not supported by this agent (linux only): the bundle is written for Windows Server instances, which need CodeDeploy\'s Windows agent; for Linux hosts write os: linux and Linux hook scripts'
        : os.toLowerCase() === 'linux'
          ? `is "${os}": CodeDeploy compares os exactly and refuses it; write os: linux in lower case`
          : `is "${os}": CodeDeploy knows only linux and windows, and this agent runs on Linux; write os: linux`,
    });
  }),
  files: z
    .array(z.object({ source: bundlePath, destination: destinationPath }, { error: expected('a mapping with source and destination') }).transform(({ source, destination }) => ({ source, destination })), {
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
 * Rules across entries, checked on the raw document so they are reported
 * together with every other problem: what cannot apply to a file.
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
  // The same object may be listed several times (with different patterns): CodeDeploy's conflict is one
  // installed file matched twice, which only the bundle's files show (appspec-bundle.ts).
  permissions.forEach((p, i) => {
    if (!isRecord(p) || typeof p.object !== 'string' || p.object.trim() === '') return;
    const object = normalObject(p.object.trim());

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
    if (p.pattern !== undefined && p.pattern !== null && p.pattern !== '**') {
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

export interface CheckOptions {
  /** The bundle's regular files (relative to its root), when known: the install plan is checked too. */
  files?: readonly string[] | undefined;
  /** Refuse events whose scripts may run longer than CodeDeploy allows (preflight and bundle validate do). */
  limitTimeouts?: boolean;
}

/**
 * Reads an appspec.yml as the CodeDeploy agent does: YAML 1.1 (so `0755`
 * unquoted is octal, `yes` is true), a repeated key keeps its last value, and
 * what the agent ignores is accepted with a warning. Every problem is reported
 * at once, each naming its key path, line and the rule; nothing else is thrown.
 */
export function checkAppspec(source: string, options: CheckOptions = {}): { appspec: Appspec; warnings: AppspecWarning[] } {
  if (Buffer.byteLength(source) > MAX_APPSPEC_BYTES) {
    throw new AppspecError(`appspec.yml is larger than ${MAX_APPSPEC_BYTES} bytes`, [{ path: '$', message: 'is too large' }]);
  }
  // A byte-order mark directly before the first key: the agent's YAML parser loses the keys after it.
  if (/^\uFEFF[ \t]*[^\s#%-]/.test(source)) {
    throw new AppspecError('appspec.yml is not valid', [{
      path: '$',
      message: 'starts with a byte-order mark directly before its first key: CodeDeploy\'s YAML parser then loses the keys and refuses the file; save it as UTF-8 without a BOM (line 1, column 1)',
      line: 1,
      column: 1,
    }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { version: '1.1', uniqueKeys: false, prettyErrors: false, lineCounter: lines });
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
  readTimeoutsAsPsych(doc, source, data);
  const result = appspecSchema.safeParse(data);
  const ruleIssues = permissionRuleProblems(data).map((p): z.core.$ZodIssue => ({ ...p, code: 'custom', input: undefined }));
  const issues = [...(result.success ? [] : result.error.issues), ...ruleIssues].map((issue) => explainOctalMode(issue, doc, source));
  if (!result.success || issues.length > 0) {
    const details = issuesToDetails(issues, '$', (path) => locate(doc, lines, path)).map(withLine);
    throw new AppspecError(`appspec.yml is not valid: ${details.length} problem(s)`, details);
  }
  const { file_exists_behavior, hooks, files, permissions } = result.data;
  const appspec: Appspec = {
    version: '0.0',
    os: 'linux',
    files,
    permissions,
    hooks,
    ...(file_exists_behavior ? { fileExistsBehavior: file_exists_behavior } : {}),
  };
  const later = [
    ...(options.files ? installPlanProblems(appspec, options.files) : []),
    ...(options.limitTimeouts ? hookTimeoutProblems(appspec) : []),
  ];
  if (later.length > 0) {
    const details = later.map((p): ErrorDetail => ({ path: jsonPath(p.path), message: p.message, ...locate(doc, lines, p.path) })).map(withLine);
    throw new AppspecError(`appspec.yml is not valid: ${details.length} problem(s)`, details);
  }
  return { appspec, warnings: appspecWarnings(doc, lines, source) };
}

/**
 * A timeout written `1:30` is a YAML 1.1 sexagesimal number, which the
 * agent's parser (Psych) reads with the first part as hours: `1:30` is 5400
 * seconds there, not 90. Read such timeouts as the agent does.
 */
function readTimeoutsAsPsych(doc: Document, source: string, data: Record<string, unknown>): void {
  const hooks = data.hooks;
  if (!isRecord(hooks)) return;
  for (const [event, scripts] of Object.entries(hooks)) {
    if (!Array.isArray(scripts)) continue;
    scripts.forEach((script, i) => {
      if (!isRecord(script)) return;
      const node = doc.getIn(['hooks', event, i, 'timeout'], true) as { range?: [number, number, number]; type?: string } | undefined;
      const text = node?.range && node.type === 'PLAIN' ? source.slice(node.range[0], node.range[1]).trim() : '';
      if (!/^[-+]?\d[\d_]*(:[0-5]?\d)+$/.test(text)) return;
      const sign = text.startsWith('-') ? -1 : 1;
      const parts = text.replace(/^[-+]/, '').replace(/_/g, '').split(':');
      script.timeout = sign * parts.reduce((sum, part, e) => sum + Number(part) * 60 ** Math.abs(e - 2), 0);
    });
  }
}

/** The model only (see checkAppspec for the warnings). */
export function parseAppspec(source: string): Appspec {
  return checkAppspec(source).appspec;
}

/** A mode refused because the agent's YAML read it as octal says so, and how to write it. */
function explainOctalMode(issue: z.core.$ZodIssue, doc: Document, source: string): z.core.$ZodIssue {
  const [first, index, field] = issue.path;
  if (first !== 'permissions' || typeof index !== 'number' || field !== 'mode' || issue.path.length !== 3) return issue;
  const node = doc.getIn(['permissions', index, 'mode'], true) as { range?: [number, number, number]; type?: string; value?: unknown } | undefined;
  const text = node?.range && node.type === 'PLAIN' ? source.slice(node.range[0], node.range[1]).trim() : undefined;
  if (text === undefined || !YAML11_OCTAL.test(text)) return issue;
  return {
    ...issue,
    message: `${text} unquoted is read by CodeDeploy's YAML parser as an octal number, ${String(node?.value)} in decimal, which is not a mode, and CodeDeploy refuses it; quote it ("${text}") or drop the leading zero`,
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

/**
 * Events whose scripts together may run longer than CodeDeploy allows one
 * event (and than the agent's report can carry), each naming the event and its
 * scripts: preflight refuses them.
 */
export function hookTimeoutProblems(appspec: Appspec): PlanProblem[] {
  const limit = Math.min(MAX_EVENT_TIMEOUT_SECONDS, MAX_REPORTED_TIMEOUT_SECONDS);
  const problems: PlanProblem[] = [];
  for (const event of HOOK_EVENTS) {
    const scripts = appspec.hooks[event] ?? [];
    const total = eventTimeoutSeconds(appspec, event);
    if (total <= limit) continue;
    const named = scripts.map((s) => `${s.location} (${s.timeout} s)`).join(' + ');
    problems.push({
      path: ['hooks', event],
      message: `${event}'s scripts may run ${total} s together (${named}), more than the ${limit} s CodeDeploy allows one lifecycle event; lower their timeouts${scripts.length > 1 ? ' or move some scripts to another event' : ''}`,
    });
  }
  return problems;
}

/** How long the server waits for an event: the sum of its scripts' timeouts. */
export function eventTimeoutSeconds(appspec: Appspec, event: string): number {
  return (appspec.hooks[event as HookEvent] ?? []).reduce((sum, script) => sum + script.timeout, 0);
}
