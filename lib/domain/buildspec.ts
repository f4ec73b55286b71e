import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { type ErrorDetail, ValidationError } from '../errors.js';
import { issuesToDetails, jsonPath } from './validation.js';
import { schema } from './schema.js';
import { locate, withLine } from './yaml-location.js';

/**
 * CodeBuild's buildspec.yml, version 0.2: what the local build runner runs
 * (the same phases and exit rules as CodeBuild) and what it reports it skips.
 */
export const BUILD_PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type BuildPhaseName = (typeof BUILD_PHASES)[number];

export interface BuildPhase {
  commands: string[];
  finally: string[];
  onFailure: 'ABORT' | 'CONTINUE';
  /** Logged and skipped locally: the runner uses the host's tools. */
  runtimeVersions: Record<string, string>;
}

export interface BuildspecArtifacts {
  files: string[];
  baseDirectory: string;
  discardPaths: boolean;
  excludePaths: string[];
  name?: string | undefined;
}

export interface Buildspec {
  version: '0.2';
  env: {
    shell: 'bash' | '/bin/sh';
    variables: Record<string, string>;
    parameterStore: Record<string, string>;
    secretsManager: Record<string, string>;
    exportedVariables: string[];
  };
  phases: Partial<Record<BuildPhaseName, BuildPhase>>;
  artifacts?: BuildspecArtifacts | undefined;
  /** What CodeBuild would do that the local runner does not (caches, reports, run-as…), one line each. */
  skipped: string[];
}

export class BuildspecError extends ValidationError {}

/** Largest buildspec we read (it bounds parsing work; CodeBuild's own limit is far larger than any real one). */
export const MAX_BUILDSPEC_BYTES = 256 * 1024;

/** A YAML scalar written as a number or boolean is a string to CodeBuild (`VAR: 1`, `discard-paths: yes`). */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const commandList = z.array(z.string({ error: 'must be a command (a string); quote a command YAML reads as a number, boolean or mapping' }), {
  error: 'must be a list of commands (strings)',
});
const yesNo = z.union([z.boolean(), z.enum(['yes', 'no'])], { error: 'must be yes or no' }).transform((v) => v === true || v === 'yes');
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envMap = z.record(
  z.string().regex(envName, 'must be an environment variable name (letters, digits and _, not starting with a digit)'),
  scalar,
  { error: 'must be a mapping of NAME: value' },
);

const phaseSchema = z.strictObject(
  {
    commands: commandList.optional(),
    finally: commandList.optional(),
    'on-failure': z.enum(['ABORT', 'CONTINUE'], { error: 'must be ABORT or CONTINUE' }).optional(),
    'runtime-versions': z.record(z.string(), scalar, { error: 'must be a mapping of runtime: version' }).optional(),
    'run-as': z.string().optional(),
  },
  { error: 'must be a mapping with commands (and optionally finally, on-failure, runtime-versions)' },
);

const buildspecSchema = /* @__PURE__ */ schema(() => z.strictObject(
  {
    version: z.unknown(),
    'run-as': z.string().optional(),
    env: z
      .strictObject({
        shell: z.enum(['bash', '/bin/sh'], { error: 'must be bash or /bin/sh (the local runner runs Linux shells only)' }).optional(),
        variables: envMap.optional(),
        'parameter-store': envMap.optional(),
        'secrets-manager': envMap.optional(),
        'exported-variables': z.array(z.string().regex(envName, 'must be an environment variable name'), { error: 'must be a list of variable names' }).optional(),
        'git-credential-helper': z.unknown().optional(),
      }, { error: 'must be a mapping (shell, variables, parameter-store, secrets-manager, exported-variables)' })
      .optional(),
    proxy: z.unknown().optional(),
    batch: z.unknown().optional(),
    phases: z.strictObject(
      { install: phaseSchema.optional(), pre_build: phaseSchema.optional(), build: phaseSchema.optional(), post_build: phaseSchema.optional() },
      { error: 'must be a mapping of install, pre_build, build and post_build' },
    ),
    reports: z.unknown().optional(),
    artifacts: z
      .strictObject({
        files: z.array(z.string({ error: 'must be a path or glob (a string)' }), { error: 'must be a list of paths or globs' }).min(1, 'must name at least one path or glob'),
        name: scalar.optional(),
        'base-directory': z.string().optional(),
        'discard-paths': yesNo.optional(),
        'exclude-paths': z.union([z.string().transform((s) => [s]), z.array(z.string())], { error: 'must be a glob or a list of globs' }).optional(),
        'enable-symlinks': z.unknown().optional(),
        's3-prefix': z.unknown().optional(),
        'secondary-artifacts': z.unknown().optional(),
      }, { error: 'must be a mapping with files' })
      .optional(),
    cache: z.unknown().optional(),
  },
  { error: 'must be a mapping with version and phases' },
));

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A path inside the build's folder: relative, no `..`, so artifacts never reach outside it. */
export function relativePathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'must be relative to the source folder (CODEBUILD_SRC_DIR), not absolute';
  if (path.split('/').includes('..')) return 'must stay inside the source folder (no "..")';
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return undefined;
}

/**
 * Reads a buildspec.yml as CodeBuild does for version 0.2, or throws a
 * BuildspecError naming every problem with its key path, line and column:
 * YAML errors, a version other than 0.2, a phase whose commands are not a
 * list of strings, artifacts without files, paths leaving the source folder.
 */
export function parseBuildspec(source: string, file = 'buildspec.yml'): Buildspec {
  if (Buffer.byteLength(source) > MAX_BUILDSPEC_BYTES) {
    throw new BuildspecError(`${file} is larger than ${MAX_BUILDSPEC_BYTES} bytes`, [{ path: '$', message: 'is too large' }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { version: '1.1', prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e): ErrorDetail => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { path: '$', message: `${e.message.split('\n')[0]} (line ${line}, column ${col})`, line, column: col };
    });
    throw new BuildspecError(`${file} is not valid YAML: ${details[0]?.message}`, details);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new BuildspecError(`${file} is not valid YAML: ${(error as Error).message}`, [{ path: '$', message: (error as Error).message }]);
  }
  if (!isRecord(data)) {
    throw new BuildspecError(`${file} must be a mapping with version and phases`, [{ path: '$', message: 'must be a mapping with version and phases', line: 1, column: 1 }]);
  }
  const details: ErrorDetail[] = [];
  const at = (path: PropertyKey[], message: string) => details.push(withLine({ path: jsonPath(path), message, ...locate(doc, lines, path) }));
  if (data.version === undefined) at(['version'], 'is required: version: 0.2');
  else if (String(data.version) !== '0.2') {
    at(['version'], `is ${JSON.stringify(data.version)}: only version 0.2 is supported (0.1 ran each command in its own shell and is deprecated by CodeBuild)`);
  }
  const result = buildspecSchema.safeParse(data);
  if (!result.success) details.push(...issuesToDetails(result.error.issues, '$', (path) => locate(doc, lines, path)).map(withLine));
  // Checked on what was written, so these come with the schema's problems rather than after them are fixed.
  const artifacts = isRecord(data.artifacts) ? data.artifacts : {};
  const base = artifacts['base-directory'];
  const baseProblem = typeof base === 'string' ? relativePathProblem(base) : undefined;
  if (baseProblem) at(['artifacts', 'base-directory'], baseProblem);
  if (Array.isArray(artifacts.files)) {
    artifacts.files.forEach((f: unknown, i: number) => {
      const problem = typeof f === 'string' ? relativePathProblem(f) : undefined;
      if (problem) at(['artifacts', 'files', i], problem);
    });
  }
  if (artifacts['secondary-artifacts'] !== undefined) at(['artifacts', 'secondary-artifacts'], 'is not supported: a build action has one output artifact');
  if (data.batch !== undefined) at(['batch'], 'is not supported: batch builds are not run by Fleetline');
  if (!result.success || details.length > 0) {
    throw new BuildspecError(`${file} is not valid: ${details.length} problem(s): ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  }
  return normalize(result.data);
}

function normalize(data: z.output<typeof buildspecSchema>): Buildspec {
  const skipped: string[] = [];
  const phases: Buildspec['phases'] = {};
  if (data['run-as'] !== undefined) skipped.push(`run-as ${data['run-as']}: commands run as the runner's own user`);
  for (const name of BUILD_PHASES) {
    const phase = data.phases[name];
    if (!phase) continue;
    if (phase['run-as'] !== undefined) skipped.push(`phases.${name}.run-as ${phase['run-as']}: commands run as the runner's own user`);
    phases[name] = {
      commands: phase.commands ?? [],
      finally: phase.finally ?? [],
      onFailure: phase['on-failure'] ?? 'ABORT',
      runtimeVersions: phase['runtime-versions'] ?? {},
    };
  }
  if (data.cache !== undefined) skipped.push('cache: nothing is cached between local builds');
  if (data.reports !== undefined) skipped.push('reports: test reports are not collected locally');
  if (data.proxy !== undefined) skipped.push('proxy: ignored locally');
  if (data.env?.['git-credential-helper'] !== undefined) skipped.push('env.git-credential-helper: ignored locally');
  if (data.artifacts?.['enable-symlinks'] !== undefined) skipped.push('artifacts.enable-symlinks: symbolic links are not archived');
  if (data.artifacts?.['s3-prefix'] !== undefined) skipped.push('artifacts.s3-prefix: Fleetline chooses where the output goes');
  const artifacts = data.artifacts
    ? {
        files: data.artifacts.files,
        baseDirectory: (data.artifacts['base-directory'] ?? '').replace(/^\.\/?/, '').replace(/\/+$/, ''),
        discardPaths: data.artifacts['discard-paths'] ?? false,
        excludePaths: data.artifacts['exclude-paths'] ?? [],
        name: data.artifacts.name,
      }
    : undefined;
  return {
    version: '0.2',
    env: {
      shell: data.env?.shell ?? '/bin/sh',
      variables: data.env?.variables ?? {},
      parameterStore: data.env?.['parameter-store'] ?? {},
      secretsManager: data.env?.['secrets-manager'] ?? {},
      exportedVariables: data.env?.['exported-variables'] ?? [],
    },
    phases,
    artifacts,
    skipped,
  };
}

/**
 * What runs after a phase ends, CodeBuild's transitions: a failed INSTALL or
 * PRE_BUILD (on-failure ABORT) ends the build (no later phase, no upload); a
 * failed BUILD still runs POST_BUILD and UPLOAD_ARTIFACTS, as does a failed
 * POST_BUILD the upload; on-failure CONTINUE goes on as if it had passed, the
 * build still failing.
 */
export function afterPhaseFailure(phase: BuildPhaseName, onFailure: 'ABORT' | 'CONTINUE'): 'next' | 'upload' | 'finalize' {
  if (onFailure === 'CONTINUE') return 'next';
  if (phase === 'install' || phase === 'pre_build') return 'finalize';
  if (phase === 'build') return 'next';
  return 'upload';
}
