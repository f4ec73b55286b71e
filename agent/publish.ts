import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AGENT_VERSION } from '../lib/domain/agent-presence.js';
import { agentChecksumKey, agentObjectKey } from '../lib/domain/agent-package.js';
import { buildAgent } from './build.js';

export interface Published {
  key: string;
  checksumKey: string;
  sha256: string;
  /** False when the bucket already held this exact build under this version. */
  uploaded: boolean;
}

/** The checksum object's text, or undefined when there is none yet. */
async function publishedChecksum(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString())?.trim();
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw error;
  }
}

/**
 * Publishes one agent build under its version: the object first, then its
 * checksum, so an install never finds a checksum for an object not yet there.
 * Publishing the same build again writes nothing; a different build under the
 * same version replaces it (the bucket is versioned: the old one stays as a
 * noncurrent version).
 */
export async function publishAgent(s3: S3Client, bucket: string, body: Buffer, version: string = AGENT_VERSION): Promise<Published> {
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = agentObjectKey(version);
  const checksumKey = agentChecksumKey(version);
  if ((await publishedChecksum(s3, bucket, checksumKey)) === sha256) return { key, checksumKey, sha256, uploaded: false };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/javascript', Metadata: { sha256 } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey, Body: `${sha256}\n`, ContentType: 'text/plain' }));
  return { key, checksumKey, sha256, uploaded: true };
}

/** `tsx agent/publish.ts --bucket B --region R [--profile P]`: builds the agent and publishes it (the stack's deploy runs this). */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { bucket: { type: 'string' }, region: { type: 'string' }, profile: { type: 'string' } } });
  if (!values.bucket || !values.region) throw new Error('usage: publish.ts --bucket BUCKET --region REGION [--profile PROFILE]');
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-publish-'));
  const s3 = new S3Client({ region: values.region, ...(values.profile ? { profile: values.profile } : {}) });
  try {
    const built = readFileSync(await buildAgent(join(dir, 'fleetline-agent.mjs')));
    const published = await publishAgent(s3, values.bucket, built);
    const where = `s3://${values.bucket}/${published.key}`;
    console.log(published.uploaded ? `Fleetline agent ${AGENT_VERSION} published to ${where} (sha256 ${published.sha256})` : `Fleetline agent ${AGENT_VERSION} already at ${where} (sha256 ${published.sha256})`);
  } finally {
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main().catch((error: unknown) => {
    console.error(`Fleetline agent not published: ${(error as Error).message}`);
    process.exit(1);
  });
}
