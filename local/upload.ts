import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from './dynamodb-local.js';

/** `npm run upload -- <file> <key>`: puts a bundle into the local artifact bucket, as CI would in AWS. */
const [file, key] = process.argv.slice(2);
if (!file || !key) {
  console.error('usage: npm run upload -- <bundle file> <key in fleetline-artifacts>');
  process.exit(2);
}
const s3 = new S3Client({
  endpoint: `http://127.0.0.1:${process.env.S3_PORT ?? 4569}`,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: LOCAL_CREDENTIALS,
});
try {
  await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: key, Body: readFileSync(file) }));
  console.log(`uploaded ${file} to s3://fleetline-artifacts/${key}`);
} catch (error) {
  console.error(`upload failed (is npm start running?): ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  s3.destroy();
}
