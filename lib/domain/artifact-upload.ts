/** One S3 ObjectCreated record, decoded and checked; what the artifact pipeline works from. */
export interface ArtifactUpload {
  bucket: string;
  key: string;
  versionId: string | null;
  eTag: string | null;
  size: number;
  /** S3's ordering token for events on one key: a longer or larger hex value is newer. */
  sequencer: string;
  eventName: string;
  eventTime: string;
  uploader: string | null;
}

/** S3 sends keys form-encoded: '+' stands for a space, then percent-escapes. */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

export type ParsedRecord = { ok: true; upload: ArtifactUpload } | { ok: false; reason: string };

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Reads one notification record; a malformed one is reported with its reason, never thrown. */
export function parseS3Record(record: unknown): ParsedRecord {
  const r = asRecord(record);
  const s3 = asRecord(r?.s3);
  const bucket = asRecord(s3?.bucket);
  const object = asRecord(s3?.object);
  if (!r || !s3 || !bucket || !object) return { ok: false, reason: 'record has no s3.bucket / s3.object' };
  if (typeof r.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:')) {
    return { ok: false, reason: `event ${String(r.eventName)} is not ObjectCreated` };
  }
  if (typeof bucket.name !== 'string' || bucket.name.length === 0) return { ok: false, reason: 's3.bucket.name is missing' };
  if (typeof object.key !== 'string' || object.key.length === 0) return { ok: false, reason: 's3.object.key is missing' };
  if (typeof object.sequencer !== 'string' || !/^[0-9A-Fa-f]+$/.test(object.sequencer)) {
    return { ok: false, reason: 's3.object.sequencer is missing or not hexadecimal' };
  }
  let key: string;
  try {
    key = decodeS3Key(object.key);
  } catch {
    return { ok: false, reason: `s3.object.key "${object.key}" is not validly percent-encoded` };
  }
  const size = typeof object.size === 'number' && Number.isFinite(object.size) && object.size >= 0 ? object.size : 0;
  const principal = asRecord(r.userIdentity)?.principalId;
  return {
    ok: true,
    upload: {
      bucket: bucket.name,
      key,
      versionId: typeof object.versionId === 'string' && object.versionId !== '' ? object.versionId : null,
      eTag: typeof object.eTag === 'string' ? object.eTag : null,
      size,
      sequencer: object.sequencer.toUpperCase(),
      eventName: r.eventName,
      eventTime: typeof r.eventTime === 'string' ? r.eventTime : '',
      uploader: typeof principal === 'string' ? principal : null,
    },
  };
}
