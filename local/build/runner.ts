import { lstat, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractBundle } from '../../agent/extract/index.js';
import { selectArtifactFiles } from '../../lib/domain/artifact-glob.js';
import { BUILD_PHASES, type BuildPhaseName, type Buildspec, afterPhaseFailure, parseBuildspec } from '../../lib/domain/buildspec.js';
import { listFiles, writeArtifactZip } from './artifact-zip.js';
import { type ShellState, runPhaseShell } from './phase-shell.js';

/** CodeBuild's build and phase statuses. */
export type BuildStatus = 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
export type PhaseStatus = BuildStatus | 'CLIENT_ERROR';
export type PhaseType = 'DOWNLOAD_SOURCE' | 'PROVISIONING' | 'INSTALL' | 'PRE_BUILD' | 'BUILD' | 'POST_BUILD' | 'UPLOAD_ARTIFACTS';

export interface PhaseResult {
  phase: PhaseType;
  status: PhaseStatus;
  message?: string | undefined;
}

export interface BuildVariable {
  name: string;
  value: string;
  type?: 'PLAINTEXT' | 'PARAMETER_STORE' | 'SECRETS_MANAGER' | undefined;
}

/**
 * Reads SSM parameters and Secrets Manager secrets for a build. Without one
 * (no AWS credentials locally) a buildspec that asks for either fails, naming
 * the variable and what to do instead.
 */
export interface BuildSecretSource {
  parameter(name: string): Promise<string>;
  secret(reference: string): Promise<string>;
}

export interface LocalBuildRequest {
  /** The source revision: a zip on disk, extracted into a fresh folder. */
  sourceZip: string;
  /** A buildspec given with the action, in place of the source's buildspec.yml. */
  buildspec?: string | undefined;
  projectName: string;
  buildId: string;
  buildNumber: number;
  /** What CODEBUILD_SOURCE_VERSION and CODEBUILD_RESOLVED_SOURCE_VERSION say (the object's version or ETag). */
  sourceVersion: string;
  /** The start request's variables: they win over the buildspec's env.variables, as in CodeBuild. */
  environmentVariables?: readonly BuildVariable[] | undefined;
  timeLimitMs: number;
  /** Where the output artifact's zip is written. */
  outputZip: string;
  secrets?: BuildSecretSource | undefined;
  signal?: AbortSignal | undefined;
  region?: string | undefined;
  /** Every log line, secrets masked, as CodeBuild's log shows it. */
  log: (line: string) => void;
}

export interface LocalBuildResult {
  buildId: string;
  status: BuildStatus;
  phases: PhaseResult[];
  /** The first phase that did not succeed, and why. */
  failedPhase?: PhaseType | undefined;
  message?: string | undefined;
  exportedVariables: Record<string, string>;
  /** Written when artifacts.files matched (also after a failed BUILD, as CodeBuild uploads then). */
  artifact?: { name?: string | undefined; files: string[] } | undefined;
}

const PHASE_TYPE: Record<BuildPhaseName, PhaseType> = { install: 'INSTALL', pre_build: 'PRE_BUILD', build: 'BUILD', post_build: 'POST_BUILD' };
/** Total size of exported variables (names and values): they are kept with the execution. */
export const MAX_EXPORTED_BYTES = 4096;
/** Variables a build starts with from the runner's own environment; nothing else (no credentials) leaks in. */
const HOST_VARIABLES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'USER', 'LOGNAME', 'TMPDIR', 'TZ'];

/**
 * Runs a CodeBuild build locally: the source zip extracted (with the agent's
 * safe extractor) into a temporary folder, the buildspec's phases in
 * CodeBuild's order and with its exit rules, the output artifact zipped. Not
 * done: build images (commands run on this machine with its tools), caches,
 * reports, batch builds, run-as, secondary sources and artifacts.
 */
export async function runLocalBuild(request: LocalBuildRequest): Promise<LocalBuildResult> {
  const started = Date.now();
  const deadline = started + request.timeLimitMs;
  const masks: string[] = [];
  const log = (line: string) => request.log(mask(line, masks));
  const container = (line: string) => log(`[Container] ${new Date().toISOString()} ${line}`);
  const phases: PhaseResult[] = [];
  const result = (status: BuildStatus, extra: Partial<LocalBuildResult> = {}): LocalBuildResult => {
    const failed = phases.find((p) => p.status !== 'SUCCEEDED');
    return { buildId: request.buildId, status, phases, failedPhase: failed?.phase, message: failed?.message, exportedVariables: {}, ...extra };
  };
  const work = await mkdtemp(join(tmpdir(), 'fleetline-build-'));
  const src = join(work, 'src');
  try {
    let spec: Buildspec;
    try {
      container('Entering phase DOWNLOAD_SOURCE');
      spec = await downloadSource(request, src);
      phases.push({ phase: 'DOWNLOAD_SOURCE', status: 'SUCCEEDED' });
      for (const line of spec.skipped) container(`Skipped locally: ${line}`);
    } catch (error) {
      phases.push({ phase: 'DOWNLOAD_SOURCE', status: 'CLIENT_ERROR', message: (error as Error).message });
      container(`Phase complete: DOWNLOAD_SOURCE State: CLIENT_ERROR: ${(error as Error).message}`);
      return result('FAILED');
    }
    let state: ShellState;
    try {
      state = { cwd: src, env: await environment(request, spec, src, started, masks) };
      phases.push({ phase: 'PROVISIONING', status: 'SUCCEEDED' });
    } catch (error) {
      phases.push({ phase: 'PROVISIONING', status: 'CLIENT_ERROR', message: (error as Error).message });
      container(`Phase complete: PROVISIONING State: CLIENT_ERROR: ${(error as Error).message}`);
      return result('FAILED');
    }

    let succeeding = true;
    let upload = true;
    let lineBuffer = '';
    const output = (chunk: string) => {
      const parts = (lineBuffer + chunk).split('\n');
      lineBuffer = parts.pop() ?? '';
      for (const part of parts) log(part);
    };
    for (const name of BUILD_PHASES) {
      const phase = spec.phases[name];
      const type = PHASE_TYPE[name];
      container(`Entering phase ${type}`);
      if (!phase) {
        phases.push({ phase: type, status: 'SUCCEEDED' });
        continue;
      }
      for (const [runtime, version] of Object.entries(phase.runtimeVersions)) container(`runtime-versions ${runtime}: ${version} skipped: the local runner uses this machine's tools`);
      const dir = join(work, `phase-${name}`);
      await mkdir(dir);
      state.env.CODEBUILD_BUILD_SUCCEEDING = succeeding ? '1' : '0';
      const ran = await runPhaseShell({ shell: spec.env.shell, commands: phase.commands, finally: phase.finally, state, dir, deadline, signal: request.signal, onOutput: output });
      if (lineBuffer) output('\n');
      state = ran.state;
      if (ran.killed) {
        const status = ran.killed === 'timeout' ? 'TIMED_OUT' : 'STOPPED';
        const message = ran.killed === 'timeout' ? `the build ran past its time limit of ${Math.round(request.timeLimitMs / 1000)} s` : 'the build was stopped';
        phases.push({ phase: type, status, message });
        container(`Phase complete: ${type} State: ${status}: ${message}`);
        return result(status);
      }
      if (ran.exitCode === 0) {
        phases.push({ phase: type, status: 'SUCCEEDED' });
        container(`Phase complete: ${type} State: SUCCEEDED`);
        continue;
      }
      succeeding = false;
      const message = `Error while executing command: ${ran.failed?.command.trim()}. Reason: exit status ${ran.failed?.exitCode}`;
      phases.push({ phase: type, status: 'FAILED', message });
      container(`Command did not exit successfully ${ran.failed?.command.trim()} exit status ${ran.failed?.exitCode}`);
      container(`Phase complete: ${type} State: FAILED: ${message}`);
      const next = afterPhaseFailure(name, phase.onFailure);
      if (next === 'finalize') {
        upload = false;
        break;
      }
      if (next === 'upload') break;
    }

    const exportedVariables = exportVariables(spec, state.env, masks, container);
    let artifact: LocalBuildResult['artifact'];
    if (upload && spec.artifacts) {
      container('Entering phase UPLOAD_ARTIFACTS');
      try {
        artifact = await uploadArtifacts(spec.artifacts, src, request.outputZip, container);
        phases.push({ phase: 'UPLOAD_ARTIFACTS', status: 'SUCCEEDED' });
        container('Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED');
      } catch (error) {
        succeeding = false;
        phases.push({ phase: 'UPLOAD_ARTIFACTS', status: 'CLIENT_ERROR', message: (error as Error).message });
        container(`Phase complete: UPLOAD_ARTIFACTS State: CLIENT_ERROR: ${(error as Error).message}`);
      }
    }
    return result(succeeding ? 'SUCCEEDED' : 'FAILED', { exportedVariables, artifact });
  } catch (error) {
    phases.push({ phase: phases.length === 0 ? 'DOWNLOAD_SOURCE' : 'PROVISIONING', status: 'FAULT', message: (error as Error).message });
    return result('FAULT');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function downloadSource(request: LocalBuildRequest, src: string): Promise<Buildspec> {
  try {
    await extractBundle(request.sourceZip, 'zip', src);
  } catch (error) {
    throw new Error(`the source is not a zip Fleetline can extract: ${(error as Error).message}`, { cause: error });
  }
  if (request.buildspec !== undefined) return parseBuildspec(request.buildspec, 'the action\'s buildspec');
  const text = await readFile(join(src, 'buildspec.yml'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error('YAML_FILE_ERROR: the source has no buildspec.yml at its root (add one, or give the action a buildspec)');
    throw error;
  });
  return parseBuildspec(text);
}

async function environment(request: LocalBuildRequest, spec: Buildspec, src: string, started: number, masks: string[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of HOST_VARIABLES) if (process.env[name] !== undefined) env[name] = process.env[name] as string;
  const region = request.region ?? 'us-east-1';
  Object.assign(env, {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    CODEBUILD_SRC_DIR: src,
    CODEBUILD_BUILD_ID: request.buildId,
    CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${region}:000000000000:build/${request.buildId}`,
    CODEBUILD_BUILD_NUMBER: String(request.buildNumber),
    CODEBUILD_INITIATOR: 'fleetline',
    CODEBUILD_SOURCE_VERSION: request.sourceVersion,
    CODEBUILD_RESOLVED_SOURCE_VERSION: request.sourceVersion,
    CODEBUILD_START_TIME: String(started),
    CODEBUILD_BUILD_SUCCEEDING: '1',
    CODEBUILD_LOCAL: 'true',
  });
  Object.assign(env, spec.env.variables);
  const secret = async (what: string, load: (source: BuildSecretSource) => Promise<string>): Promise<string> => {
    if (!request.secrets) {
      throw new Error(`${what}: the local runner has no AWS credentials to read it; give the variable a PLAINTEXT value for local runs, or run the build in CodeBuild`);
    }
    try {
      const value = await load(request.secrets);
      if (value) masks.push(value);
      return value;
    } catch (error) {
      throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
    }
  };
  for (const [name, parameter] of Object.entries(spec.env.parameterStore)) {
    env[name] = await secret(`env.parameter-store ${name} (${parameter})`, (s) => s.parameter(parameter));
  }
  for (const [name, reference] of Object.entries(spec.env.secretsManager)) {
    env[name] = await secret(`env.secrets-manager ${name} (${reference})`, (s) => s.secret(reference));
  }
  for (const v of request.environmentVariables ?? []) {
    if (v.type === 'PARAMETER_STORE') env[v.name] = await secret(`environment variable ${v.name} (PARAMETER_STORE ${v.value})`, (s) => s.parameter(v.value));
    else if (v.type === 'SECRETS_MANAGER') env[v.name] = await secret(`environment variable ${v.name} (SECRETS_MANAGER ${v.value})`, (s) => s.secret(v.value));
    else env[v.name] = v.value;
  }
  return env;
}

function exportVariables(spec: Buildspec, env: Record<string, string>, masks: readonly string[], container: (line: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const name of spec.env.exportedVariables) {
    const value = env[name];
    if (value === undefined) {
      container(`Exported variable ${name} is not set at the end of the build: not exported`);
      continue;
    }
    if (masks.some((m) => m && value.includes(m))) {
      container(`Exported variable ${name} holds a secret: not exported`);
      continue;
    }
    bytes += name.length + Buffer.byteLength(value);
    if (bytes > MAX_EXPORTED_BYTES) {
      container(`Exported variable ${name} not exported: exported variables may hold ${MAX_EXPORTED_BYTES} bytes in all`);
      continue;
    }
    out[name] = value;
  }
  return out;
}

async function uploadArtifacts(
  spec: NonNullable<Buildspec['artifacts']>,
  src: string,
  dest: string,
  container: (line: string) => void,
): Promise<NonNullable<LocalBuildResult['artifact']>> {
  const base = spec.baseDirectory;
  const where = base ? `base-directory ${base}` : 'the source folder (no base-directory)';
  const baseStat = await lstat(join(src, base)).catch(() => undefined);
  if (!baseStat?.isDirectory()) throw new Error(`no matching base directory path found: ${base} is not a folder after the build`);
  const { files, links } = await listFiles(src);
  for (const link of links) container(`Symbolic link ${link} not archived`);
  const selection = selectArtifactFiles(files, spec);
  if (selection.entries.length === 0) {
    throw new Error(`no files matched ${spec.files.map((f) => `\`${f}\``).join(', ')} in ${where}`);
  }
  for (const pattern of selection.unmatched) container(`Expected artifact pattern \`${pattern}\` matched no file in ${where}`);
  if (spec.discardPaths) {
    const seen = new Map<string, string>();
    for (const { from, to } of selection.entries) {
      const other = seen.get(to);
      if (other) throw new Error(`discard-paths: ${other} and ${from} would both be ${to} in the artifact`);
      seen.set(to, from);
    }
  }
  await writeArtifactZip(src, selection.entries, dest);
  container(`Uploaded ${selection.entries.length} file(s) from ${where}`);
  return { name: spec.name, files: selection.entries.map((e) => e.to) };
}

function mask(line: string, masks: readonly string[]): string {
  let out = line;
  for (const m of masks) if (m) out = out.split(m).join('***');
  return out;
}
