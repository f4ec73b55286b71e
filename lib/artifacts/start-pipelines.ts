import type { ArtifactUpload } from '../domain/artifact-upload.js';
import { matchesSource } from '../domain/pipeline.js';
import { logger } from '../logger.js';
import { executionIdFor, startExecution } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';

export interface UploadOutcome {
  started: string[];
  duplicates: number;
  /** The upload is older than one already seen for this key. */
  stale: boolean;
}

/**
 * Starts every pipeline whose source matches the upload, exactly once per
 * object version: the execution ID is derived from pipeline + revision, and an
 * older sequencer arriving after a newer one for the same key starts nothing.
 */
export async function startPipelinesFor(upload: ArtifactUpload, deps: PipelineDeps): Promise<UploadOutcome> {
  if (!(await deps.executions.recordSequencer(upload.bucket, upload.key, upload.sequencer))) {
    logger.info('Ignoring an older upload of the key', { key: upload.key, sequencer: upload.sequencer });
    return { started: [], duplicates: 0, stale: true };
  }
  const pipelines = (await deps.pipelines.bySourceBucket(upload.bucket)).filter((p) => matchesSource(p, upload.bucket, upload.key));
  const outcome: UploadOutcome = { started: [], duplicates: 0, stale: false };
  for (const pipeline of pipelines) {
    const revision = {
      bucket: upload.bucket,
      key: upload.key,
      version: upload.versionId ?? undefined,
      eTag: upload.eTag ?? undefined,
      size: upload.size,
      sequencer: upload.sequencer,
      uploader: upload.uploader ?? undefined,
    };
    const { executionId, created } = await startExecution(
      pipeline,
      revision,
      { type: 'S3', by: upload.uploader ?? 'unknown' },
      executionIdFor(pipeline.name, revision),
      deps,
    );
    if (created) outcome.started.push(executionId);
    else outcome.duplicates++;
  }
  return outcome;
}
