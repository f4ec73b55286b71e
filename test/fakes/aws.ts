import { createHash } from 'node:crypto';
import type { WakeReason } from '../../lib/domain/agent-channel.js';
import { locateAppspec, normaliseEntryPath } from '../../lib/domain/appspec-location.js';
import type { IssuedCredentials } from '../../lib/domain/credentials.js';
import { ForbiddenError } from '../../lib/errors.js';
import type { Revision } from '../../lib/domain/deployment.js';
import { type TagSet, matchesTagSet } from '../../lib/domain/tags.js';
import { type BuildSeen, type BuildStatus, buildStateChangeDetail } from '../../lib/domain/build.js';
import { UnprocessableError } from '../../lib/errors.js';
import type { AppspecRead, AppspecSource, AssumeRoleInput, BuildService, BuildStart, BundleUrls, CredentialIssuer, Ec2TargetLookup, InstanceNotifier, RevisionObject } from '../../lib/ports.js';
import type { BuildStateChangeEvent } from '../../lib/worker/handle-build-event.js';

/** The AWS services behind the other ports, in memory: S3's bundles, EC2's instances, STS, the agents' channel. */

interface StoredObject {
  files: Map<string, string>;
  eTag: string;
  size: number;
  versionId?: string | undefined;
}

/** Bundles by bucket and key (the newest upload of a key wins, as in an unversioned bucket). */
export class FakeBundles implements AppspecSource, BundleUrls {
  private readonly objects = new Map<string, StoredObject>();

  /** Stores a bundle holding `files` (path → content); returns its ETag. */
  put(bucket: string, key: string, files: Record<string, string>, versionId?: string): string {
    const body = JSON.stringify(Object.entries(files).sort());
    const eTag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(`${bucket}/${key}`, { files: new Map(Object.entries(files)), eTag, size: Buffer.byteLength(body), versionId });
    return eTag;
  }

  private find(revision: Revision): StoredObject | undefined {
    const found = this.objects.get(`${revision.bucket}/${revision.key}`);
    // An object put without a version answers any version asked for, as the local S3 emulator's does.
    return found && (revision.version === undefined || found.versionId === undefined || revision.version === found.versionId) ? found : undefined;
  }

  async head(revision: Revision): Promise<RevisionObject | { problem: string }> {
    const found = this.find(revision);
    const where = `s3://${revision.bucket}/${revision.key}${revision.version ? ` (version ${revision.version})` : ''}`;
    if (!found) return { problem: `${where} does not exist` };
    return { size: found.size, eTag: found.eTag, ...(found.versionId ? { versionId: found.versionId } : {}) };
  }

  async read(revision: Revision): Promise<AppspecRead | { problem: string }> {
    const found = this.find(revision);
    if (!found) return { problem: `the ${revision.bundleType} bundle could not be read: S3 refused a read of it (HTTP 404)` };
    const files = [...found.files.keys()];
    const location = locateAppspec(files);
    if ('problem' in location) return location;
    const appspec = [...found.files.entries()].find(([path]) => normaliseEntryPath(path) === location.appspecPath)?.[1] ?? '';
    const inRoot = files.map(normaliseEntryPath).filter((f) => f.startsWith(location.root)).map((f) => f.slice(location.root.length));
    return { appspec, appspecPath: location.appspecPath, files: inRoot };
  }

  async sha256(revision: Revision): Promise<{ sha256: string } | { problem: string }> {
    const found = this.find(revision);
    const where = `s3://${revision.bucket}/${revision.key}`;
    if (!found || (revision.eTag !== undefined && revision.eTag !== found.eTag)) {
      return { problem: `${where} changed while it was being checked (its ETag is no longer ${revision.eTag}): deploy it again` };
    }
    return { sha256: createHash('sha256').update(JSON.stringify([...found.files.entries()].sort())).digest('hex') };
  }

  async bundleDownloadUrl(revision: Revision): Promise<string> {
    return `https://s3.fake/${revision.bucket}/${revision.key}?download`;
  }

  async logUploadUrl(deploymentId: string, instanceId: string): Promise<string> {
    return `https://s3.fake/logs/${deploymentId}/${instanceId}?upload`;
  }

  async logDownloadUrl(deploymentId: string, instanceId: string): Promise<string> {
    return `https://s3.fake/logs/${deploymentId}/${instanceId}?download`;
  }
}

/** EC2's running instances, each with its tags. */
export class FakeEc2 implements Ec2TargetLookup {
  readonly instances = new Map<string, { key: string; value: string }[]>();

  async findInstanceIds(query: { tagSet: TagSet }): Promise<string[]> {
    return [...this.instances.entries()].filter(([, tags]) => matchesTagSet(query.tagSet, tags)).map(([id]) => id).sort();
  }
}

/** Every wake-up pushed, in order (pushes are best effort: it never throws). */
export class FakeNotifier implements InstanceNotifier {
  readonly wakes: { instanceIds: string[]; reason: WakeReason; deploymentId?: string | undefined }[] = [];

  async wake(instanceIds: readonly string[], reason: WakeReason, deploymentId?: string): Promise<void> {
    this.wakes.push({ instanceIds: [...instanceIds], reason, deploymentId });
  }
}

/**
 * STS: credentials for any role asked for, an hour long, but a role named
 * refused-… (whose trust policy leaves Fleetline out), refused as the adapter
 * reports STS's AccessDenied; every request kept.
 */
export class FakeIssuer implements CredentialIssuer {
  readonly requests: AssumeRoleInput[] = [];

  async assumeRole(input: AssumeRoleInput): Promise<IssuedCredentials> {
    this.requests.push(input);
    const [, , , , account, resource] = input.roleArn.split(':');
    if (String(resource).split('/').pop()?.startsWith('refused-')) {
      throw Object.assign(new ForbiddenError(`STS refused to let Fleetline assume ${input.roleArn}: the role's trust policy must allow Fleetline's API role (with the ExternalId, if the rule sets one)`), {
        cause: `AccessDenied: User is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`,
      });
    }
    return {
      accessKeyId: 'ASIAFAKE',
      secretAccessKey: 'fake-secret',
      sessionToken: 'fake-token',
      expiration: new Date(Date.now() + input.durationSeconds * 1000).toISOString(),
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${String(resource).split('/').pop()}/${input.sessionName}`,
    };
  }
}

/** A fake build, as CodeBuild keeps it. */
export interface FakeBuild {
  id: string;
  request: BuildStart;
  status: BuildStatus;
  failedPhase?: string | undefined;
  stopRequests: number;
}

/**
 * CodeBuild in memory: StartBuild (the same idempotency token finds the same
 * build), BatchGetBuilds and StopBuild; a build ends when the test says
 * (`finish`), uploading its output as CodeBuild does (also after a failed
 * BUILD phase). Only the projects in `projects` exist.
 */
export class FakeBuilds implements BuildService {
  readonly builds: FakeBuild[] = [];
  readonly projects = new Set(['web-build']);
  /** StartBuild calls, answered or not. */
  startCalls = 0;

  constructor(private readonly bundles: FakeBundles) {}

  async start(request: BuildStart): Promise<{ buildId: string }> {
    this.startCalls++;
    if (!this.projects.has(request.project)) {
      throw new UnprocessableError(`CodeBuild StartBuild: project ${request.project} does not exist in Fleetline's region (ResourceNotFoundException: Project cannot be found)`);
    }
    const earlier = this.builds.find((b) => b.request.idempotencyToken === request.idempotencyToken);
    if (earlier) return { buildId: earlier.id };
    const build: FakeBuild = { id: `${request.project}:${String(this.builds.length + 1).padStart(8, '0')}`, request: structuredClone(request), status: 'IN_PROGRESS', stopRequests: 0 };
    this.builds.push(build);
    return { buildId: build.id };
  }

  async get(buildId: string): Promise<BuildSeen | undefined> {
    const build = this.builds.find((b) => b.id === buildId);
    return build && this.seen(build);
  }

  async stop(buildId: string): Promise<void> {
    const build = this.builds.find((b) => b.id === buildId);
    if (!build) throw new UnprocessableError(`CodeBuild StopBuild: no build ${buildId}`);
    build.stopRequests++;
    if (build.status === 'IN_PROGRESS') Object.assign(build, { status: 'STOPPED', failedPhase: 'BUILD' });
  }

  /** What BatchGetBuilds (or the state-change event) says of a build. */
  seen(build: FakeBuild): BuildSeen {
    return {
      buildId: build.id,
      status: build.status,
      failedPhase: build.failedPhase,
      failedPhaseMessage: build.failedPhase ? 'COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2' : undefined,
      logLink: `https://console.aws.amazon.com/cloudwatch/home#logEvent:group=/aws/codebuild/${build.request.project};stream=${build.id.split(':')[1]}`,
    };
  }

  /**
   * The build ends with `status` (a first end only: a build ends once). Its
   * output is uploaded when it succeeded or failed no earlier than BUILD, as
   * CodeBuild runs UPLOAD_ARTIFACTS then. Returns the state-change event.
   */
  finish(buildId: string, status: Exclude<BuildStatus, 'IN_PROGRESS'>, failedPhase?: string): BuildStateChangeEvent {
    const build = this.builds.find((b) => b.id === buildId);
    if (!build) throw new Error(`No build ${buildId}`);
    if (build.status === 'IN_PROGRESS') {
      Object.assign(build, { status, failedPhase: status === 'SUCCEEDED' ? undefined : failedPhase });
      const uploads = status === 'SUCCEEDED' || ['BUILD', 'POST_BUILD'].includes(failedPhase ?? '');
      const { output, source } = build.request;
      if (uploads) this.bundles.put(output.bucket, `${output.path}/${output.name}`, { 'appspec.yml': 'version: 0.0\nos: linux\n', 'built.txt': `built from ${source.key}` });
    }
    return buildStateChange(this.seen(build), build.request);
  }
}

/** EventBridge's "CodeBuild Build State Change" event for a build, as CodeBuild sends it. */
export function buildStateChange(seen: BuildSeen, request: Pick<BuildStart, 'project' | 'environmentVariables'>): BuildStateChangeEvent {
  return {
    source: 'aws.codebuild',
    'detail-type': 'CodeBuild Build State Change',
    detail: buildStateChangeDetail(seen, { project: request.project, arn: `arn:aws:codebuild:eu-west-1:111122223333:build/${seen.buildId}`, variables: request.environmentVariables }),
  };
}
