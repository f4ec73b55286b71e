import { posix } from 'node:path';
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, Scalar } from 'yaml';
import type { ErrorDetail } from '../errors.js';
import { jsonPath } from './validation.js';

/**
 * What in an appspec.yml the CodeDeploy agent reads without complaint but
 * ignores or reads other than it looks: keys it never reads, hooks it never
 * runs, a repeated key, an unquoted mode with a leading zero. Each warning
 * names its line, what CodeDeploy does with it, and the likely fix.
 */

/** Events whose scripts the agent runs, in CodeDeploy's spelling. */
export const RUN_EVENTS = [
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
/** Steps the agent (or the load balancer) performs itself: scripts listed under them never run. */
const OWN_STEPS = ['DownloadBundle', 'Install', 'BlockTraffic', 'AllowTraffic'];

const TOP_KEYS = ['version', 'os', 'files', 'permissions', 'hooks', 'file_exists_behavior'];
const FILE_KEYS = ['source', 'destination'];
const SCRIPT_KEYS = ['location', 'timeout', 'runas', 'sudo'];
const PERMISSION_KEYS = ['object', 'pattern', 'except', 'owner', 'group', 'mode', 'acls', 'context', 'type'];

/** The spelling CodeDeploy would have read, when `name` differs from one only by case, spaces, `-` or `_`. */
function nearest(name: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[\s_-]/g, '');
  return known.find((k) => squash(k) === squash(name));
}

/** A leading-zero integer, which YAML 1.1 (the agent's parser) reads as octal. */
export const YAML11_OCTAL = /^[-+]?0[0-7_]+$/;

export class WarningCollector {
  readonly warnings: ErrorDetail[] = [];

  constructor(
    private readonly lines: LineCounter,
    private readonly source: string,
  ) {}

  add(path: readonly (string | number)[], node: Node | null | undefined, message: string): void {
    const at = node?.range ? this.lines.linePos(node.range[0]) : undefined;
    this.warnings.push({
      path: jsonPath(path),
      message: at ? `${message} (line ${at.line}, column ${at.col})` : message,
      ...(at ? { line: at.line, column: at.col } : {}),
    });
  }

  lineOf(node: Node): number | undefined {
    return node.range ? this.lines.linePos(node.range[0]).line : undefined;
  }

  /** The text of a plain (unquoted) scalar as written, else undefined. */
  plainText(node: unknown): string | undefined {
    if (!isScalar(node) || node.type !== Scalar.PLAIN || !node.range) return undefined;
    return this.source.slice(node.range[0], node.range[1]).trim();
  }
}

const keyName = (pair: Pair): string | undefined => (isScalar(pair.key) && pair.key.value !== null ? String(pair.key.value) : undefined);

/**
 * Every repeated key (CodeDeploy's YAML library keeps the last) and every
 * alias, anywhere in the document.
 */
function structureWarnings(node: unknown, path: (string | number)[], out: WarningCollector): void {
  if (isAlias(node)) {
    // The agent's Ruby decides: Psych 4 (Ruby 3.1 and later) refuses aliases, Psych 3 expands them.
    // Agents on both are in service, so an alias is accepted (expanded, as Psych 3 does) and warned of.
    out.add(path, node, `*${node.source} is a YAML alias: CodeDeploy agents on Ruby 3.1 or later refuse the appspec because of it, older ones expand it; write the value out instead of the alias`);
    return;
  }
  if (isMap(node)) {
    const seen = new Map<string, Pair>();
    for (const pair of node.items) {
      const name = keyName(pair);
      if (name === undefined) continue;
      const first = seen.get(name);
      if (first) {
        const firstLine = out.lineOf(first.key as Node);
        out.add([...path, name], pair.key as Node, `${name} is given again${firstLine ? ` (first at line ${firstLine})` : ''}: CodeDeploy's YAML parser keeps only the last one; remove the other`);
      }
      seen.set(name, pair);
      structureWarnings(pair.value, [...path, name], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => structureWarnings(item, [...path, i], out));
  }
}

/** The last pair for each key, as the agent reads it. */
function pairs(node: unknown): Map<string, Pair> {
  const out = new Map<string, Pair>();
  if (isMap(node)) for (const pair of node.items) {
    const name = keyName(pair);
    if (name !== undefined) out.set(name, pair);
  }
  return out;
}

function unknownKeys(node: unknown, path: (string | number)[], known: readonly string[], what: string, out: WarningCollector, extra?: (key: string) => string | undefined): void {
  for (const [name, pair] of pairs(node)) {
    if (known.includes(name)) continue;
    const hint = extra?.(name);
    const spelled = nearest(name, known);
    const fix = hint ?? (spelled ? `rename it to ${spelled} (keys are case-sensitive)` : 'remove it');
    out.add([...path, name], pair.key as Node, `${name} is not read by CodeDeploy in ${what}, so it does nothing: ${fix}`);
  }
}

/** The warnings for one parsed document (YAML errors are reported before this runs). */
export function appspecWarnings(doc: Document, lines: LineCounter, source: string): ErrorDetail[] {
  const out = new WarningCollector(lines, source);
  structureWarnings(doc.contents, [], out);
  const top = pairs(doc.contents);

  unknownKeys(doc.contents, [], TOP_KEYS, 'an appspec', out, (name) => {
    const event = nearest(name, [...RUN_EVENTS, ...OWN_STEPS]);
    if (event) return `hooks written at the top level never run; indent ${name} under hooks:${event !== name ? ` and spell it ${event}` : ''}`;
    if (name.toLowerCase() === 'resources') return 'Resources belongs to ECS and Lambda appspecs; this agent deploys files and hooks only';
    return undefined;
  });

  const files = top.get('files')?.value;
  if (isSeq(files)) files.items.forEach((entry, i) => {
    unknownKeys(entry, ['files', i], FILE_KEYS, 'a files entry (it reads source and destination only)', out, (name) =>
      name === 'overwrite' ? 'remove it and set file_exists_behavior: OVERWRITE at the top level (or on the deployment) instead' : undefined);
    const destination = pairs(entry).get('destination')?.value;
    if (isScalar(destination) && typeof destination.value === 'string' && destination.value !== '' && !destination.value.startsWith('/')) {
      const absolute = posix.resolve('/', destination.value);
      out.add(['files', i, 'destination'], destination, `${destination.value} is relative: CodeDeploy joins it to its agent's working folder, / for the agent's service, so it installs to ${absolute}; write ${absolute}`);
    }
  });

  const hooks = top.get('hooks')?.value;
  for (const [event, pair] of pairs(hooks)) {
    const scripts = pair.value;
    if (isSeq(scripts)) scripts.items.forEach((script, i) => {
      const path = ['hooks', event, i];
      unknownKeys(script, path, SCRIPT_KEYS, 'a hook script', out);
      const fields = pairs(script);
      const runas = fields.get('runas')?.value;
      if (isScalar(runas) && typeof runas.value === 'string' && runas.value.trim() === '') {
        out.add([...path, 'runas'], runas, 'runas is empty: CodeDeploy then runs the script with su and no user name, that is as root; name the user or remove runas');
      }
      const timeout = fields.get('timeout')?.value;
      if (isScalar(timeout) && typeof timeout.value === 'string' && !/^\s*\d+\s*$/.test(timeout.value) && /^\s*[-+]?\d/.test(timeout.value)) {
        const seconds = /^\s*[-+]?\d+(?:_\d+)*/.exec(timeout.value)?.[0].trim().replace(/_/g, '');
        out.add([...path, 'timeout'], timeout, `"${timeout.value}" is read by CodeDeploy as ${Number(seconds)} seconds (it keeps only the leading digits); write the number of seconds alone`);
      }
    });
    if ((RUN_EVENTS as readonly string[]).includes(event)) continue;
    const runs = isSeq(scripts) && scripts.items.length > 0;
    if (!runs) continue; // an empty event runs nothing either way
    if (OWN_STEPS.includes(event)) {
      out.add(['hooks', event], pair.key as Node, `${event} is a step CodeDeploy performs itself: scripts listed under it never run; move them to ${event === 'Install' || event === 'DownloadBundle' ? 'BeforeInstall or AfterInstall' : `Before${event} or After${event}`}`);
      continue;
    }
    const spelled = nearest(event, RUN_EVENTS);
    out.add(['hooks', event], pair.key as Node, spelled
      ? `${event} is not a lifecycle event (names are case-sensitive): CodeDeploy never runs its scripts; rename it to ${spelled}`
      : `${event} is not a lifecycle event: CodeDeploy never runs its scripts; use one of ${RUN_EVENTS.join(', ')}`);
  }

  const permissions = top.get('permissions')?.value;
  if (isSeq(permissions)) permissions.items.forEach((entry, i) => {
    const path = ['permissions', i];
    unknownKeys(entry, path, PERMISSION_KEYS, 'a permission', out);
    const fields = pairs(entry);
    const mode = fields.get('mode')?.value;
    const text = out.plainText(mode);
    if (text !== undefined && YAML11_OCTAL.test(text) && isScalar(mode) && /^[0-7]{1,4}$/.test(String(mode.value))) {
      out.add([...path, 'mode'], mode, `${text} unquoted is read by CodeDeploy's YAML parser as an octal number, ${String(mode.value)} in decimal, and CodeDeploy sets mode ${String(mode.value)} (not ${text}); quote it ("${text}") or drop the leading zero`);
    }
    const globs: [string, unknown][] = [['pattern', fields.get('pattern')?.value]];
    const except = fields.get('except')?.value;
    if (isSeq(except)) except.items.forEach((item, k) => globs.push([`except[${k}]`, item]));
    for (const [where, node] of globs) {
      if (!isScalar(node) || typeof node.value !== 'string' || node.value === '**') continue;
      const glob = node.value;
      if (glob.includes('/') || glob === '') {
        const segments = where === 'pattern' ? ['pattern'] : ['except', Number(where.slice(7, -1))];
        out.add([...path, ...segments], node, `"${glob}" can never match: CodeDeploy matches ${where === 'pattern' ? 'pattern' : 'except'} against the names directly inside object, never against paths; point object at the folder and give only the name`);
      }
    }
  });
  return out.warnings;
}
