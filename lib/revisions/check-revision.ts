import type { Revision } from '../domain/deployment.js';
import { isMultipartETag, sameETag } from '../domain/etag.js';
import { type ErrorDetail, UnprocessableError } from '../errors.js';
import type { AppspecSource } from '../ports.js';

export interface RevisionCheckDeps {
  appspecs: AppspecSource;
}

/**
 * A revision as checked: pinned to the object S3 showed (its version when the
 * bucket is versioned, its ETag and size, and its SHA-256 when the ETag of a
 * multipart upload cannot prove the content).
 */
export interface CheckedRevision {
  revision: Revision;
  problems: ErrorDetail[];
  /** What CodeDeploy would silently skip or read otherwise than it looks (a deployment records them). */
  warnings: ErrorDetail[];
}

/** At most this many warnings are kept with a deployment (they bound the record's size). */
export const MAX_RECORDED_WARNINGS = 50;

/**
 * Every reason a revision cannot be deployed: the object must exist (the given
 * version, and the given ETag if any) and hold a valid appspec.yml. Reads only;
 * problems point at the request (`$.revision…`) or into appspec.yml.
 */
export async function inspectRevision(revision: Revision, deps: RevisionCheckDeps): Promise<CheckedRevision> {
  const head = await deps.appspecs.head(revision);
  if ('problem' in head) return { revision, problems: [{ path: '$.revision', message: head.problem }], warnings: [] };
  if (revision.eTag && !sameETag(revision.eTag, head.eTag)) {
    return {
      revision,
      problems: [{ path: '$.revision.eTag', message: `is ${revision.eTag} but the object's ETag is ${head.eTag}: name the current ETag or upload the bundle again` }],
      warnings: [],
    };
  }
  let pinned: Revision = {
    ...revision,
    // The download URL names this version: an upload after the check cannot change what agents get.
    ...(revision.version === undefined && head.versionId ? { version: head.versionId } : {}),
    eTag: head.eTag || revision.eTag,
    size: head.size,
    ...(head.sha256 ? { sha256: head.sha256 } : {}),
  };
  if (!pinned.sha256 && isMultipartETag(pinned.eTag ?? '')) {
    // A multipart ETag is no hash of the content, and S3 keeps no full-object SHA-256: computed once here.
    const digest = await deps.appspecs.sha256(pinned);
    if ('problem' in digest) return { revision: pinned, problems: [{ path: '$.revision', message: digest.problem }], warnings: [] };
    pinned = { ...pinned, sha256: digest.sha256 };
  }
  const read = await deps.appspecs.read(pinned);
  if ('problem' in read) return { revision: pinned, problems: [{ path: '$.revision', message: read.problem }], warnings: [] };
  // The appspec parser (YAML and the full zod) loads on the first check: the worker and the
  // reconciler check revisions only for pipeline deploys, so their cold starts skip it.
  const { AppspecError, checkAppspec } = await import('../domain/appspec.js');
  const name = (read.appspecPath ?? 'appspec.yml').split('/').pop();
  const inFile = (d: ErrorDetail) => ({ ...d, path: `${name} ${d.path}` });
  try {
    // The install plan is checked when the read saw every file (a zip's directory; a tar read to its end).
    const { warnings } = checkAppspec(read.appspec, { files: read.files, limitTimeouts: true });
    return { revision: pinned, problems: [], warnings: warnings.map(inFile) };
  } catch (error) {
    if (!(error instanceof AppspecError)) throw error;
    return { revision: pinned, problems: error.details.map(inFile), warnings: [] };
  }
}

/**
 * The revision check every request that deploys runs before it writes
 * anything: a 422 naming every problem, else the revision pinned to the
 * object checked (agents verify they download exactly that) and the appspec's
 * warnings, which the deployment records.
 */
export async function checkRevision(revision: Revision, deps: RevisionCheckDeps): Promise<{ revision: Revision; warnings: ErrorDetail[] }> {
  const { revision: pinned, problems, warnings } = await inspectRevision(revision, deps);
  if (problems.length === 0) return { revision: pinned, warnings: warnings.slice(0, MAX_RECORDED_WARNINGS) };
  const summary = problems.length === 1 ? `: ${problems[0]?.path} ${problems[0]?.message}` : `: ${problems.length} problems`;
  throw new UnprocessableError(`The revision s3://${revision.bucket}/${revision.key} cannot be deployed${summary}`, problems);
}
