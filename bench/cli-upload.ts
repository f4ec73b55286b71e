import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOneFile } from '../agent/build.js';
import { freePort } from '../local/ports.js';
import { startS3Local } from '../local/s3-local.js';
import { type Figure, printFigure } from './figure.js';

const BUNDLE_MIB = 200;

/**
 * `deploy --bundle` of a 200 MiB bundle folder (incompressible files, so the
 * zip is as large): the uploading process's peak RSS and the time to upload it
 * to the S3 emulator, with the CLI's own upload code in a plain node process.
 */
export async function benchCliUpload(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-bench-upload-'));
  const s3 = await startS3Local({ port: await freePort(), directory: join(dir, 's3'), buckets: ['bench-artifacts'] });
  try {
    const bundle = join(dir, 'bundle');
    mkdirSync(join(bundle, 'site'), { recursive: true });
    writeFileSync(join(bundle, 'appspec.yml'), 'version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/bench\n');
    for (let file = 0; file < BUNDLE_MIB / 20; file++) {
      const chunks = Array.from({ length: 20 }, () => randomBytes(1024 * 1024));
      writeFileSync(join(bundle, 'site', `blob-${file}.bin`), Buffer.concat(chunks));
    }
    const child = await buildOneFile(fileURLToPath(new URL('./cli-upload-child.ts', import.meta.url)), join(dir, 'upload.mjs'));
    // Asynchronously: the S3 emulator runs in this process.
    const run = promisify(execFile);
    const result = JSON.parse((await run(process.execPath, [child, s3.endpoint, 'bench-artifacts', bundle], { encoding: 'utf8' })).stdout);
    const baseline = JSON.parse((await run(process.execPath, ['-e', 'console.log(JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024 }))'], { encoding: 'utf8' })).stdout);
    console.error(`uploaded ${result.sent} bytes to ${result.key}`);
    return [
      printFigure({ bench: 'cli-upload', metric: 'bundle_200mib_peak_rss_bytes', value: result.peakRssBytes, unit: 'B' }),
      printFigure({ bench: 'cli-upload', metric: 'node_baseline_peak_rss_bytes', value: baseline.peakRssBytes, unit: 'B' }),
      printFigure({ bench: 'cli-upload', metric: 'bundle_200mib_upload_ms', value: Math.round(result.ms), unit: 'ms' }),
      printFigure({ bench: 'cli-upload', metric: 'bundle_200mib_bytes_sent', value: result.sent, unit: 'B' }),
    ];
  } finally {
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
