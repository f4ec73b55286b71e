import { keySegmentProblem, reservedPrefixOf } from '../domain/artifact-location.js';
import { type ArtifactUpload, parseS3Record } from '../domain/artifact-upload.js';
import { logger } from '../logger.js';

export interface NotificationOutcome {
  accepted: ArtifactUpload[];
  skipped: { index: number; reason: string }[];
}

/**
 * Reads every record of an S3 notification. A malformed record is logged and
 * skipped without failing the others; records for other buckets, for
 * reserved prefixes (Fleetline's own objects) and for keys with empty, `.` or
 * `..` segments are ignored.
 */
export function readNotification(event: unknown, artifactBucket: string): NotificationOutcome {
  const records = (event as { Records?: unknown })?.Records;
  const outcome: NotificationOutcome = { accepted: [], skipped: [] };
  if (!Array.isArray(records)) {
    logger.warn('Notification has no Records array; nothing to do');
    return outcome;
  }
  records.forEach((record, index) => {
    const parsed = parseS3Record(record);
    if (!parsed.ok) {
      logger.warn('Skipping malformed S3 record', { index, reason: parsed.reason });
      outcome.skipped.push({ index, reason: parsed.reason });
    } else if (parsed.upload.bucket !== artifactBucket) {
      logger.info('Ignoring record for another bucket', { index, bucket: parsed.upload.bucket });
      outcome.skipped.push({ index, reason: `bucket ${parsed.upload.bucket} is not the artifact bucket` });
    } else if (reservedPrefixOf(parsed.upload.key)) {
      // S3 notification filters cannot exclude a prefix, so Fleetline's own objects (agent logs) arrive here too.
      const reason = `key is under the reserved prefix ${reservedPrefixOf(parsed.upload.key)}; it never starts a pipeline`;
      logger.info('Ignoring an internal object', { index, key: parsed.upload.key });
      outcome.skipped.push({ index, reason });
    } else if (keySegmentProblem(parsed.upload.key)) {
      const reason = `key ${keySegmentProblem(parsed.upload.key)}; it never starts a pipeline`;
      logger.warn('Ignoring an upload whose key cannot name a revision', { index, reason });
      outcome.skipped.push({ index, reason });
    } else {
      outcome.accepted.push(parsed.upload);
    }
  });
  return outcome;
}
