import { z } from 'zod';
import { schema } from './schema.js';

/**
 * Where revisions may come from. Fleetline writes its own objects (agents' full
 * logs, build outputs, the published agent) under reserved prefixes of the artifact bucket;
 * nothing there may ever start a pipeline or be deployed, whoever wrote it.
 */
export const LOG_PREFIX = 'fleetline-logs/';
/** Build actions' outputs (CodeBuild's artifacts, the local runner's): deployable only by their own execution. */
export const BUILD_PREFIX = 'fleetline-builds/';
/** Where each deploy publishes the single-file agent (agent-package.ts names its objects). */
export const AGENT_PACKAGE_PREFIX = 'fleetline-agent/';
export const RESERVED_PREFIXES: readonly string[] = [LOG_PREFIX, BUILD_PREFIX, AGENT_PACKAGE_PREFIX];

/** The object key an agent's full log for one instance deployment is uploaded to. */
export function logObjectKey(deploymentId: string, instanceId: string): string {
  return `${LOG_PREFIX}${deploymentId}/${instanceId}.log`;
}

export function reservedPrefixOf(key: string): string | undefined {
  return RESERVED_PREFIXES.find((prefix) => key.startsWith(prefix));
}

/**
 * Why an object key cannot name a revision: an empty, `.` or `..` segment.
 * S3 takes such a key literally while other stores, tools and agents may
 * resolve it (`web/../shop/secret.zip` names shop's object there), so a key
 * checked against a source prefix must mean the same thing everywhere. Every
 * entry point refuses such keys: deployments, pipeline starts and S3 events.
 */
export function keySegmentProblem(key: string): string | undefined {
  const segments = key.split('/');
  const index = segments.findIndex((segment) => segment === '' || segment === '.' || segment === '..');
  if (index < 0) return undefined;
  const segment = segments[index] as string;
  const named = segment === '' ? 'an empty segment' : `a "${segment}" segment`;
  return `has ${named} (segment ${index + 1} of "${key}"): keys may not contain empty, "." or ".." segments, which S3 takes literally and other tools resolve; name the object by its plain path`;
}

/**
 * A source prefix (pipeline source, application revision source) must be
 * non-empty and must not overlap a reserved prefix in either direction:
 * `fleet` would match the logs as surely as `fleetline-logs/x/` would.
 */
export function sourcePrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return `must not be empty: name the key prefix your builds upload to (e.g. "web/"); ${RESERVED_PREFIXES.join(' and ')} are reserved for Fleetline's own objects`;
  const overlap = RESERVED_PREFIXES.find((reserved) => reserved.startsWith(prefix) || prefix.startsWith(reserved));
  return overlap ? `overlaps the reserved prefix ${overlap} (Fleetline's own objects, such as agent logs, build outputs and the published agent, can never be a revision)` : undefined;
}

const bucketSchema = /* @__PURE__ */ schema(() => z.string({ error: 'is required' }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'));
const prefixSchema = /* @__PURE__ */ schema(() => z
  .string({ error: 'is required' })
  .max(1024, 'must be at most 1024 characters')
  .superRefine((prefix, ctx) => {
    const problem = sourcePrefixProblem(prefix);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }));

/** A bucket and key prefix revisions may come from. */
export const revisionSourceSchema = /* @__PURE__ */ schema(() => z.strictObject({ bucket: bucketSchema, prefix: prefixSchema }));
export type RevisionSource = z.output<typeof revisionSourceSchema>;

export const MAX_REVISION_SOURCES = 10;
export const revisionSourcesSchema = /* @__PURE__ */ schema(() => z
  .array(revisionSourceSchema, { error: 'must be a list of { bucket, prefix }' })
  .min(1, 'name at least one { bucket, prefix } (an application with no source could never be deployed)')
  .max(MAX_REVISION_SOURCES, `name at most ${MAX_REVISION_SOURCES} sources`));

/** Secure by default: an application takes revisions only from `<app>/` in the artifact bucket. */
export function defaultRevisionSources(application: string, artifactBucket: string): RevisionSource[] {
  return [{ bucket: artifactBucket, prefix: `${application}/` }];
}

export function describeSources(sources: readonly RevisionSource[]): string {
  return sources.map((s) => `s3://${s.bucket}/${s.prefix}*`).join(', ');
}

/** Why a revision may not be deployed for an application (undefined when it may). */
export function revisionLocationProblem(revision: { bucket: string; key: string }, sources: readonly RevisionSource[]): string | undefined {
  const reserved = reservedPrefixOf(revision.key);
  if (reserved) return `s3://${revision.bucket}/${revision.key} is under ${reserved}, which is reserved for Fleetline's own objects and can never be deployed`;
  if (sources.some((s) => s.bucket === revision.bucket && revision.key.startsWith(s.prefix))) return undefined;
  return `s3://${revision.bucket}/${revision.key} is not where this application takes revisions from; allowed: ${describeSources(sources)} (change them with PUT /applications/{app} revisionSources)`;
}

/** A pipeline source lies inside an application's sources when every key it matches would be allowed. */
export function sourceWithin(source: { bucket: string; prefix: string }, sources: readonly RevisionSource[]): boolean {
  return sources.some((s) => s.bucket === source.bucket && source.prefix.startsWith(s.prefix));
}
