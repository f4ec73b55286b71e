import { keySegmentProblem, reservedPrefixOf } from '../domain/artifact-location.js';
import type { ArtifactUpload } from '../domain/artifact-upload.js';
import { clip, TEXT_LIMITS } from '../domain/execution-size.js';
import { type Execution, type ExecutionRevision, type Pipeline, matchesSource } from '../domain/pipeline.js';
import { FleetlineError } from '../errors.js';
import { logger } from '../logger.js';
import { executionIdFor, startExecution } from '../pipelines/execution-engine.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';

export interface UploadOutcome {
  started: string[];
  duplicates: number;
  /** Pipelines that could not start: each is recorded as a failed execution. */
  failed: string[];
  /** The upload is older than one already seen for this key. */
  stale: boolean;
}

/**
 * Starts every pipeline whose source matches the upload, exactly once per
 * object version: the execution ID is derived from pipeline + revision, and an
 * older sequencer arriving after a newer one for the same key starts nothing.
 * Each pipeline starts on its own: one that fails is recorded as a failed
 * execution and never keeps the others from starting.
 */
export async function startPipelinesFor(upload: ArtifactUpload, deps: PipelineDeps): Promise<UploadOutcome> {
  const outcome: UploadOutcome = { started: [], duplicates: 0, failed: [], stale: false };
  if (reservedPrefixOf(upload.key)) {
    logger.info('Ignoring an internal object', { key: upload.key });
    return outcome;
  }
  const segmentProblem = keySegmentProblem(upload.key);
  if (segmentProblem) {
    logger.warn('Ignoring an upload whose key cannot name a revision', { reason: segmentProblem });
    return outcome;
  }
  if (!(await deps.executions.recordSequencer(upload.bucket, upload.key, upload.sequencer))) {
    logger.info('Ignoring an older upload of the key', { key: upload.key, sequencer: upload.sequencer });
    return { ...outcome, stale: true };
  }
  const pipelines = (await deps.pipelines.bySourceBucket(upload.bucket)).filter((p) => matchesSource(p, upload.bucket, upload.key));
  const revision: ExecutionRevision = {
    bucket: upload.bucket,
    key: upload.key,
    version: upload.versionId ?? undefined,
    eTag: upload.eTag ?? undefined,
    size: upload.size,
    sequencer: upload.sequencer,
    uploader: upload.uploader ?? undefined,
  };
  const trigger = { type: 'S3' as const, by: upload.uploader ?? 'unknown' };
  let unrecorded: unknown;
  for (const pipeline of pipelines) {
    const executionId = executionIdFor(pipeline.name, revision);
    try {
      const { created } = await startExecution(pipeline, revision, trigger, executionId, deps);
      if (created) outcome.started.push(executionId);
      else outcome.duplicates++;
    } catch (error) {
      try {
        const recorded = await recordFailedStart(pipeline, revision, trigger, executionId, error, deps);
        if (recorded === 'recorded') outcome.failed.push(executionId);
        else if (recorded === 'exists') outcome.started.push(executionId);
        else outcome.duplicates++;
      } catch (recordError) {
        unrecorded = recordError;
      }
    }
  }
  // Nothing could be written for some pipeline: fail the notification so it is retried (the others are duplicates then).
  if (unrecorded) throw unrecorded;
  return outcome;
}

/** Why a start failed, as the execution shows it: a domain error's message (DynamoDB's size limit is an ItemTooLargeError), nothing internal otherwise. */
function startFailure(error: unknown): string {
  if (error instanceof FleetlineError) return error.message;
  return 'The execution could not be started because of an internal error (logged with this execution ID)';
}

/**
 * 'recorded' when the start failed before the execution existed and is now
 * recorded as a failed execution; 'duplicate' when that had happened already (a
 * repeated notification: nothing is retried); 'exists' when the execution exists
 * (the worker moves it on). Throws only when
 * nothing can be written at all (the table is unreachable), so that the
 * notification is retried.
 */
async function recordFailedStart(
  pipeline: Pipeline,
  revision: ExecutionRevision,
  trigger: Execution['trigger'],
  executionId: string,
  error: unknown,
  deps: PipelineDeps,
): Promise<'recorded' | 'duplicate' | 'exists'> {
  const existing = await deps.executions.get(executionId);
  if (existing) return existing.status === 'Failed' && existing.stages.length === 0 ? 'duplicate' : 'exists';
  logger.error('Could not start a pipeline for an upload', { pipeline: pipeline.name, executionId, key: revision.key, error: error as Error });
  const now = deps.clock.now().toISOString();
  const recorded = await deps.executions.recordFailedStart({
    executionId,
    pipeline: pipeline.name,
    definition: [],
    revision,
    trigger,
    authority: pipeline.author,
    status: 'Failed',
    stageIndex: 0,
    waiting: false,
    stages: [],
    createdAt: now,
    updatedAt: now,
    endedAt: now,
    error: clip(`Could not start: ${startFailure(error)}`, TEXT_LIMITS.error),
    version: 0,
  });
  return recorded ? 'recorded' : 'duplicate';
}
