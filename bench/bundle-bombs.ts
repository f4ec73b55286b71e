import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleIntegrityError, extractBundle } from '../agent/archive.js';
import { gzipBomb, gzipManyBomb, zipBomb } from '../test/support/raw-archives.js';
import { type Figure, printFigure } from './figure.js';

/**
 * Hostile bundles against the agent's default limits: how long until each is
 * refused, how many bytes it wrote first, and how far the agent's memory grew.
 */
export async function benchBundleBombs(): Promise<Figure[]> {
  const bombs: [string, 'zip' | 'tgz', Buffer][] = [
    ['zip_1gib', 'zip', zipBomb(1024)],
    ['gzip_1gib', 'tgz', gzipBomb(1024)],
    ['tgz_1000_files_1gib', 'tgz', gzipManyBomb(1000)],
  ];
  const figures: Figure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-bench-bombs-'));
  try {
    for (const [name, type, archive] of bombs) {
      const file = join(dir, `${name}.${type}`);
      writeFileSync(file, archive);
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const started = performance.now();
      const error = await extractBundle(file, type, join(dir, `${name}-out`)).then(() => undefined, (e: unknown) => e);
      const elapsed = performance.now() - started;
      clearInterval(sampler);
      if (!(error instanceof BundleIntegrityError)) throw new Error(`${name} was not refused: ${String(error)}`);
      console.error(`${name}: ${error.message}`);
      figures.push(printFigure({ bench: 'bundle-bombs', metric: `${name}_compressed_bytes`, value: archive.length, unit: 'B' }));
      figures.push(printFigure({ bench: 'bundle-bombs', metric: `${name}_ms_to_reject`, value: Math.round(elapsed), unit: 'ms' }));
      figures.push(printFigure({ bench: 'bundle-bombs', metric: `${name}_bytes_written_before_reject`, value: error.bytesWritten ?? -1, unit: 'B' }));
      figures.push(printFigure({ bench: 'bundle-bombs', metric: `${name}_rss_growth_bytes`, value: peak - baseline, unit: 'B' }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
