import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3BundleUrls } from '../../lib/adapters/aws/s3-bundle-urls.js';
import { pollAnswerSchema } from '../../lib/domain/agent-wire.js';
import type { Revision } from '../../lib/domain/deployment.js';
import type { AppspecSource, RevisionObject } from '../../lib/ports.js';
import { inspectRevision } from '../../lib/revisions/check-revision.js';
import { useApi } from '../support/api-harness.js';
import { zipBundle } from '../support/bundles.js';
import { multipartForm } from '../support/multipart-form.js';
import { agentPrincipal } from '../support/scripted-agent.js';

// The revision check records the object's ETag in a multipart upload's form (see multipartForm).
const api = useApi((deps) => ({ appspecs: multipartForm(deps.appspecs) }));
const Bucket = 'fleetline-test-artifacts';

let bundle: Buffer;

beforeAll(async () => {
  await api.call('PUT', '/applications/multi', { body: { revisionSources: [{ bucket: Bucket, prefix: 'multi/' }] } });
  await api.call('PUT', '/applications/multi/groups/prod', { body: { targets: { onPremisesTagSet: [[{ key: 'multi', type: 'KEY_ONLY' }]] } } });
  await api.call('PUT', '/instances/multi-1', { body: { tags: [{ key: 'multi', value: '' }] } });
  bundle = await zipBundle([
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' },
    { path: 'payload.bin', content: Array.from({ length: 64 * 1024 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join('') },
  ]);
});

describe('bundle integrity whatever the form of the ETag', () => {
  it('records the SHA-256 of a multipart upload (its ETag proves nothing of the content) and hands it to the agent', async () => {
    await api.s3.send(new PutObjectCommand({ Bucket, Key: 'multi/app.zip', Body: bundle }));
    const res = await api.call('POST', '/deployments', { body: { application: 'multi', group: 'prod', revision: { bucket: Bucket, key: 'multi/app.zip' } } });
    expect(res.status).toBe(201);
    const { revision } = (await api.call('GET', `/deployments/${res.body.deploymentId}`)).body;
    const sha256 = createHash('sha256').update(bundle).digest('hex');
    expect(revision).toMatchObject({ eTag: expect.stringMatching(/-2"$/), size: bundle.length, sha256 });
    const { eTag } = revision;

    const polled = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'multi-1' }, principal: agentPrincipal('multi-1') });
    expect(pollAnswerSchema.parse(polled.body).assignment?.bundle).toMatchObject({ eTag, size: bundle.length, sha256 });
  });
});

/** An object as S3 shows it at the revision check, and what the check reads of it. */
function objectSource(object: RevisionObject, digests: Revision[] = []): AppspecSource {
  return {
    head: async () => object,
    read: async () => ({ appspec: 'version: 0.0\nos: linux\n' }),
    sha256: async (revision) => {
      digests.push(revision);
      return { sha256: 'c'.repeat(64) };
    },
  };
}

describe('the download is pinned to the version the revision check saw', () => {
  const urls = new S3BundleUrls(new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' } }), 'logs');
  const given: Revision = { bucket: 'versioned-artifacts', key: 'web/app.zip', bundleType: 'zip' };

  it('records the version a versioned bucket named, and the presigned URL asks S3 for that version only', async () => {
    const { revision, problems } = await inspectRevision(given, { appspecs: objectSource({ size: 10, eTag: '"abc"', versionId: 'v-3.Lg' }) });
    expect(problems).toEqual([]);
    expect(revision.version).toBe('v-3.Lg');
    const url = new URL(await urls.bundleDownloadUrl(revision));
    expect(url.searchParams.get('versionId')).toBe('v-3.Lg');
  });

  it('keeps the version the request named, and pins nothing in an unversioned bucket', async () => {
    const named = await inspectRevision({ ...given, version: 'v-1' }, { appspecs: objectSource({ size: 10, eTag: '"abc"', versionId: 'v-1' }) });
    expect(named.revision.version).toBe('v-1');
    const unversioned = await inspectRevision(given, { appspecs: objectSource({ size: 10, eTag: '"abc"' }) });
    expect(unversioned.revision.version).toBeUndefined();
    expect(new URL(await urls.bundleDownloadUrl(unversioned.revision)).searchParams.has('versionId')).toBe(false);
  });

  it('reads the SHA-256 of a multipart object at the pinned version, and not when S3 keeps a full-object one', async () => {
    const digests: Revision[] = [];
    const multipart = await inspectRevision(given, { appspecs: objectSource({ size: 10, eTag: '"abc-4"', versionId: 'v-9' }, digests) });
    expect(multipart.revision.sha256).toBe('c'.repeat(64));
    expect(digests).toEqual([expect.objectContaining({ version: 'v-9', eTag: '"abc-4"' })]);
    const kept = await inspectRevision(given, { appspecs: objectSource({ size: 10, eTag: '"abc-4"', sha256: 'd'.repeat(64) }, digests) });
    expect(kept.revision.sha256).toBe('d'.repeat(64));
    expect(digests).toHaveLength(1);
  });
});
