import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_EMULATOR_CREDENTIALS } from '../lib/adapters/aws/local-emulators.js';
import { uploadBundle } from '../cli/upload.js';

/** Run by bench/cli-upload.ts as a plain node process: one `deploy --bundle` upload, then its peak RSS. */
const [endpoint, bucket, path] = process.argv.slice(2) as [string, string, string];
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_EMULATOR_CREDENTIALS });
const started = performance.now();
let sent = 0;
const revision = await uploadBundle({ bucket, s3 }, path, 'bench', (bytes) => (sent = bytes));
const ms = performance.now() - started;
s3.destroy();
// resourceUsage().maxRSS is in kilobytes: the process's high-water mark, sampled by the kernel.
console.log(JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024, ms, sent, key: revision.key }));
