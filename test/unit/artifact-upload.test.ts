import { describe, expect, it } from 'vitest';
import { decodeS3Key, parseS3Record } from '../../lib/domain/artifact-upload.js';
import { encodeS3EventKey } from '../../local/s3-local.js';
import { loadEvent } from '../support/api-events.js';

type Notification = { Records: unknown[] };

describe('S3 notification records', () => {
  it('reads a versioned upload with its identity, size and uploader', () => {
    const [record] = loadEvent<Notification>('s3-object-created.json').Records;
    expect(parseS3Record(record)).toEqual({
      ok: true,
      upload: {
        bucket: 'fleetline-dev-artifacts',
        key: 'web/app-1.4.2.zip',
        versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
        eTag: '0123456789abcdef0123456789abcdef',
        size: 10240,
        sequencer: '0068A5B2C1D3E4F501',
        eventName: 'ObjectCreated:Put',
        eventTime: '2026-11-22T10:20:01.123Z',
        uploader: 'AWS:AROAEXAMPLEROLEID:ci-runner',
      },
    });
  });

  it("decodes keys as S3 encodes them: '+' is a space, then percent-escapes", () => {
    const [record] = loadEvent<Notification>('s3-object-created-encoded-key.json').Records;
    const parsed = parseS3Record(record);
    expect(parsed.ok && parsed.upload.key).toBe('web/release candidate/app été+1.zip');
  });

  it('has no version ID for an unversioned bucket', () => {
    const [record] = loadEvent<Notification>('s3-object-created-unversioned.json').Records;
    const parsed = parseS3Record(record);
    expect(parsed.ok && parsed.upload.versionId).toBeNull();
  });

  it('round-trips the local S3 encoder', () => {
    for (const key of ['a b/c+d.zip', 'web/été 100%.tgz', 'plain/app-1.zip']) {
      expect(decodeS3Key(encodeS3EventKey(key))).toBe(key);
    }
  });

  const malformed: [string, unknown, RegExp][] = [
    ['a record without s3', { eventName: 'ObjectCreated:Put' }, /s3.bucket/],
    ['a removal event', { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'k', sequencer: '01' } } }, /not ObjectCreated/],
    ['a bad percent escape', { eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'a%ZZ', sequencer: '01' } } }, /percent-encoded/],
    ['a missing sequencer', { eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }, /sequencer/],
    ['null', null, /s3.bucket/],
  ];
  it.each(malformed)('reports %s with its reason instead of throwing', (_name, record, reason) => {
    const parsed = parseS3Record(record);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });
});
