import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { matchesSource, type Pipeline } from '../lib/domain/pipeline.js';
import { LOCAL_CREDENTIALS } from './dynamodb-local.js';
import { waitFor } from './ports.js';
import { localStateDir, readStackInfo } from './state-dir.js';

/**
 * `npm run upload -- <file> <key>`: puts a bundle into the running local stack's
 * artifact bucket, as CI would in AWS, then waits until every pipeline whose
 * source the key matches has started its execution, and names them, so the
 * next command finds them (S3 notifications are asynchronous).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [file, key] = process.argv.slice(2);
if (!file || !key) {
  console.error('usage: npm run upload -- <bundle file> <key in the artifact bucket>');
  process.exit(2);
}
// The running stack says where its S3 is; S3_PORT only matters when none is found.
const stack = readStackInfo(localStateDir());
const endpoint = stack?.s3Endpoint ?? `http://127.0.0.1:${process.env.S3_PORT || 4569}`;
const bucket = stack?.bucket ?? 'fleetline-artifacts';

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${stack!.apiUrl}${path}`, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

type Listed<T> = { items: T[]; nextToken?: string };
type ExecutionItem = { executionId: string; revision?: { bucket?: string; key?: string } };

/** The pipelines this key starts, each with the executions it already has. */
async function pipelinesStartedBy(): Promise<{ name: string; before: Set<string> }[]> {
  if (!stack) return [];
  const matching: { name: string; before: Set<string> }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await api<Listed<Pipeline>>(`/pipelines?limit=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
    for (const p of page.items) if (matchesSource(p, bucket, key!)) matching.push({ name: p.name, before: new Set() });
    nextToken = page.nextToken;
  } while (nextToken);
  for (const m of matching) {
    const page = await api<Listed<ExecutionItem>>(`/pipelines/${encodeURIComponent(m.name)}/executions?limit=100`);
    for (const e of page.items) m.before.add(e.executionId);
  }
  return matching;
}

const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
let pipelines: { name: string; before: Set<string> }[] = [];
try {
  pipelines = await pipelinesStartedBy();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }));
  console.log(`uploaded ${file} to s3://${bucket}/${key}`);
} catch (error) {
  console.error(`upload to ${endpoint} failed (is npm start running?): ${(error as Error).message}`);
  process.exit(1);
} finally {
  s3.destroy();
}
for (const { name, before } of pipelines) {
  let started: string | undefined;
  try {
    await waitFor(`pipeline ${name} to start an execution for s3://${bucket}/${key} (see npm start's output)`, async () => {
      const page = await api<Listed<ExecutionItem>>(`/pipelines/${encodeURIComponent(name)}/executions?limit=10`);
      started = page.items.find((e) => !before.has(e.executionId) && e.revision?.bucket === bucket && e.revision?.key === key)?.executionId;
      return started !== undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    console.log(`pipeline ${name} started ${started}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
