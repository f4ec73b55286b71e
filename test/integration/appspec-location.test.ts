import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { extractBundle } from '../../agent/archive.js';
import { bundleRootOf, readBundleAppspec } from '../../agent/bundle-root.js';
import { S3AppspecReader } from '../../lib/adapters/aws/s3-appspec-reader.js';
import type { BundleType } from '../../lib/domain/deployment.js';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { type BundleFile, tgzBundle, zipBundle } from '../support/bundles.js';

const s3 = new S3Client({ region: 'us-east-1', endpoint: inject('s3Endpoint'), credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
const dir = mkdtempSync(join(tmpdir(), 'fleetline-appspec-location-'));
afterAll(() => {
  s3.destroy();
  rmSync(dir, { recursive: true, force: true });
});
const reader = new S3AppspecReader(s3);
const Bucket = 'fleetline-test-artifacts';

/** What preflight reads from S3, and what the agent runs after extracting the same bundle. */
async function bothPaths(name: string, type: BundleType, files: BundleFile[]) {
  const body = type === 'zip' ? await zipBundle(files) : await tgzBundle(files);
  await s3.send(new PutObjectCommand({ Bucket, Key: `location/${name}`, Body: body }));
  const preflight = await reader.read({ bucket: Bucket, key: `location/${name}`, bundleType: type });
  const file = join(dir, name);
  writeFileSync(file, body);
  await extractBundle(file, type, join(dir, `${name}.d`));
  const agent = await bundleRootOf(join(dir, `${name}.d`)).then(
    async (root) => ({ appspec: await readBundleAppspec(root) }),
    (error: Error) => ({ problem: error.message }),
  );
  return { preflight: 'problem' in preflight ? preflight : { appspec: preflight.appspec }, agent };
}

describe('preflight and the agent find the same appspec.yml', () => {
  it('a tgz with old/appspec.yml ahead of appspec.yml: both take the root one', async () => {
    const { preflight, agent } = await bothPaths('old-first.tgz', 'tgz', [
      { path: 'old/appspec.yml', content: 'version: 0.0\nos: windows\n' },
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' },
    ]);
    expect(preflight).toEqual({ appspec: 'version: 0.0\nos: linux\n' });
    expect(agent).toEqual(preflight);
  });

  it('a zip with app/appspec.yml and README.md beside app/: both refuse it, as CodeDeploy does', async () => {
    const { preflight, agent } = await bothPaths('app-readme.zip', 'zip', [
      { path: 'app/appspec.yml', content: 'version: 0.0\nos: linux\n' },
      { path: 'README.md', content: 'read me' },
    ]);
    expect(preflight).toEqual({ problem: expect.stringMatching(/README\.md sits beside it/) });
    expect(agent).toEqual({ problem: expect.stringMatching(/README\.md sits beside it/) });
  });

  it('a tgz holding only app/ with app/appspec.yaml: both take app/ as the root and read appspec.yaml', async () => {
    const { preflight, agent } = await bothPaths('app-yaml.tgz', 'tgz', [
      { path: 'app/appspec.yaml', content: 'version: 0.0\nos: linux\n' },
      { path: 'app/run.sh', content: 'true' },
    ]);
    expect(preflight).toEqual({ appspec: 'version: 0.0\nos: linux\n' });
    expect(agent).toEqual(preflight);
  });

  it('a zip with appspec.yaml and appspec.yml at the root: both read appspec.yml', async () => {
    const { preflight, agent } = await bothPaths('both-names.zip', 'zip', [
      { path: 'appspec.yaml', content: 'yaml' },
      { path: 'appspec.yml', content: 'yml' },
    ]);
    expect(preflight).toEqual({ appspec: 'yml' });
    expect(agent).toEqual(preflight);
  });

  it('a tgz with a nested appspec.yml first and the root one last: both take the root one', async () => {
    const { preflight, agent } = await bothPaths('nested-then-root.tgz', 'tgz', [
      { path: 'a/appspec.yml', content: 'nested' },
      { path: 'b/x', content: 'x' },
      { path: 'appspec.yml', content: 'root' },
    ]);
    expect(preflight).toEqual({ appspec: 'root' });
    expect(agent).toEqual(preflight);
  });

  it('two folders each with appspec.yml and none at the root: both refuse it', async () => {
    const { preflight, agent } = await bothPaths('two.zip', 'zip', [
      { path: 'a/appspec.yml', content: 'a' },
      { path: 'b/appspec.yml', content: 'b' },
    ]);
    expect(preflight).toEqual({ problem: expect.stringMatching(/a\/ holds one.*b sits beside it/) });
    expect(agent).toEqual({ problem: expect.stringMatching(/a\/ holds one.*b sits beside it/) });
  });
});
