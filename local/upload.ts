import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from './dynamodb-local.js';
import { localStateDir, readStackInfo } from './state-dir.js';

/** `npm run upload -- <file> <key>`: puts a bundle into the running local stack's artifact bucket, as CI would in AWS. */
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
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
try {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }));
  console.log(`uploaded ${file} to s3://${bucket}/${key}`);
} catch (error) {
  console.error(`upload to ${endpoint} failed (is npm start running?): ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  s3.destroy();
}
