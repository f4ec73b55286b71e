import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOG_PREFIX } from '../../lib/domain/artifact-location.js';
import { BUILD_PREFIX } from '../../lib/domain/artifact-location.js';
import { type BuildSeen, type BuildStatus, buildStateChangeDetail } from '../../lib/domain/build.js';
import type { BuildService, BuildStart } from '../../lib/ports.js';
import type { BuildStateChangeEvent } from '../../lib/worker/handle-build-event.js';
import { type LocalBuildResult, runLocalBuild } from './runner.js';

/** A build's time limit locally, as CodeBuild's default project timeout. */
export const LOCAL_BUILD_TIME_LIMIT_MS = 60 * 60_000;
/** The last lines of a build's commands' output kept in memory for its failure message. */
const TAIL_LINES = 20;

interface LocalBuild {
  id: string;
  number: number;
  request: BuildStart;
  status: BuildStatus;
  result?: LocalBuildResult | undefined;
  logLink?: string | undefined;
  tail: string[];
  controller: AbortController;
  done: Promise<void>;
}

export interface LocalBuildServiceOptions {
  /** The local S3 (the source revision is read from it, the output and the log written to it). */
  s3: S3Client;
  /** Where a build's state change goes: the worker function, as EventBridge's rule sends it in AWS. */
  onEnded: (event: BuildStateChangeEvent) => Promise<void>;
  timeLimitMs?: number | undefined;
  region?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

/**
 * The local stack's CodeBuild: each build runs the buildspec with the
 * built-in runner (runner.ts) in a temporary copy of the source revision,
 * its output zip and full log go to the artifact bucket, and its end is sent
 * to the worker as CodeBuild's state-change event. Builds live in this
 * process: one started before a restart is unknown after it (its action
 * fails, naming the build). Any project name is accepted: there are no
 * projects locally, the buildspec is the build.
 */
export class LocalBuildService implements BuildService {
  private readonly builds = new Map<string, LocalBuild>();
  private readonly byToken = new Map<string, string>();
  private readonly numbers = new Map<string, number>();

  constructor(private readonly options: LocalBuildServiceOptions) {}

  async start(request: BuildStart): Promise<{ buildId: string }> {
    const known = this.byToken.get(request.idempotencyToken);
    if (known) return { buildId: known };
    const number = (this.numbers.get(request.project) ?? 0) + 1;
    this.numbers.set(request.project, number);
    const build: LocalBuild = {
      id: `${request.project}:${randomUUID()}`,
      number,
      request,
      status: 'IN_PROGRESS',
      tail: [],
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.builds.set(build.id, build);
    this.byToken.set(request.idempotencyToken, build.id);
    this.options.log?.(`build ${build.id} started (project ${request.project}, source s3://${request.source.bucket}/${request.source.key})`);
    build.done = this.run(build).catch((error) => this.options.log?.(`build ${build.id}: ${String(error)}`));
    return { buildId: build.id };
  }

  async get(buildId: string): Promise<BuildSeen | undefined> {
    const build = this.builds.get(buildId);
    return build && seen(build);
  }

  async stop(buildId: string): Promise<void> {
    this.builds.get(buildId)?.controller.abort();
  }

  /** Stops every running build and waits for each to end (the stack's shutdown). */
  async close(): Promise<void> {
    const builds = [...this.builds.values()];
    for (const build of builds) build.controller.abort();
    await Promise.all(builds.map((b) => b.done));
  }

  private async run(build: LocalBuild): Promise<void> {
    const { s3 } = this.options;
    const { request } = build;
    const work = await mkdtemp(join(tmpdir(), 'fleetline-local-build-'));
    const lines: string[] = [];
    let ended: LocalBuildResult | undefined;
    const log = (line: string) => {
      lines.push(line);
      // The commands' own output: the runner's [Container] lines say what the failure message says already.
      if (line.startsWith('[Container]')) return;
      build.tail.push(line);
      if (build.tail.length > TAIL_LINES) build.tail.shift();
    };
    try {
      const sourceZip = join(work, 'source.zip');
      let sourceVersion = request.source.version ?? '';
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: request.source.bucket, Key: request.source.key, VersionId: request.source.version }));
        sourceVersion ||= (object.ETag ?? '').replace(/"/g, '');
        await writeFile(sourceZip, await object.Body!.transformToByteArray());
      } catch (error) {
        ended = {
          buildId: build.id,
          status: 'FAULT',
          phases: [{ phase: 'DOWNLOAD_SOURCE', status: 'CLIENT_ERROR', message: `s3://${request.source.bucket}/${request.source.key} could not be read: ${(error as Error).name}` }],
          failedPhase: 'DOWNLOAD_SOURCE',
          message: `s3://${request.source.bucket}/${request.source.key} could not be read: ${(error as Error).name}`,
          exportedVariables: {},
        };
        return;
      }
      const outputZip = join(work, 'output.zip');
      const result = await runLocalBuild({
        sourceZip,
        buildspec: request.buildspec,
        projectName: request.project,
        buildId: build.id,
        buildNumber: build.number,
        sourceVersion,
        environmentVariables: request.environmentVariables,
        timeLimitMs: this.options.timeLimitMs ?? LOCAL_BUILD_TIME_LIMIT_MS,
        outputZip,
        signal: build.controller.signal,
        region: this.options.region,
        log,
      });
      if (result.artifact) {
        await s3.send(new PutObjectCommand({ Bucket: request.output.bucket, Key: `${request.output.path}/${request.output.name}`, Body: await readFile(outputZip) }));
      }
      ended = result;
    } finally {
      await rm(work, { recursive: true, force: true });
      // The end is shown only with its log in place: whoever reads the build then (the event, the reconciler) sees both.
      build.logLink = await this.uploadLog(build, lines).catch(() => undefined);
      build.result = ended;
      build.status = ended?.status ?? 'FAULT';
      await this.options.onEnded({
        source: 'aws.codebuild',
        'detail-type': 'CodeBuild Build State Change',
        detail: buildStateChangeDetail(seen(build), { project: request.project, arn: `arn:aws:codebuild:local:000000000000:build/${build.id}`, variables: request.environmentVariables }),
      });
      this.options.log?.(`build ${build.id} ${build.status}`);
    }
  }

  /** The full log beside hook logs, under the reserved log prefix (never a revision); returns where it is. */
  private async uploadLog(build: LocalBuild, lines: string[]): Promise<string> {
    const { output } = build.request;
    const key = `${LOG_PREFIX}builds/${output.path.slice(BUILD_PREFIX.length)}.log`;
    await this.options.s3.send(new PutObjectCommand({ Bucket: output.bucket, Key: key, Body: lines.join('\n') + '\n', ContentType: 'text/plain; charset=utf-8' }));
    return `s3://${output.bucket}/${key}`;
  }
}

/** What the build has come to, in the port's terms; a failure's message ends with the log's last lines. */
function seen(build: LocalBuild): BuildSeen {
  const { result } = build;
  const failed = result?.failedPhase !== undefined && build.status !== 'SUCCEEDED';
  const tail = build.tail.slice(-5).join(' | ');
  return {
    buildId: build.id,
    status: build.status,
    failedPhase: failed ? result?.failedPhase : undefined,
    failedPhaseMessage: failed ? [result?.message, tail && `last lines: ${tail}`].filter(Boolean).join('; ') || undefined : undefined,
    logLink: build.logLink,
    exportedVariables: result && Object.keys(result.exportedVariables).length > 0 ? result.exportedVariables : undefined,
  };
}
