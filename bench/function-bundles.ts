import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type PackagedStack, packageStack, repoRoot } from '../test/support/packaged-template.js';
import { type Figure, printFigure } from './figure.js';

const FUNCTIONS = ['api', 'artifacts', 'channel', 'reconcile', 'worker'];
const INIT_RUNS = 5;

/**
 * Bundle size of each packaged function, and module init time: a fresh Node
 * process importing the bundled handler with the configuration Lambda gives it.
 */
export async function benchFunctionBundles(): Promise<Figure[]> {
  const stack: PackagedStack = await packageStack('bench');
  const figures: Figure[] = [];
  try {
    for (const fn of FUNCTIONS) {
      figures.push(printFigure({ bench: 'bundle', metric: `${fn}_zip_bytes`, value: statSync(join(stack.dir, `${fn}.zip`)).size, unit: 'B' }));
      const dir = join(stack.dir, `unzipped-${fn}`);
      await promisify(execFile)('unzip', ['-q', '-o', join(stack.dir, `${fn}.zip`), '-d', dir]);
      const samples: number[] = [];
      for (let i = 0; i < INIT_RUNS; i++) samples.push(await initMillis(join(dir, 'functions', `${fn}.mjs`)));
      samples.sort((a, b) => a - b);
      figures.push(
        printFigure({ bench: 'bundle', metric: `${fn}_init_ms_median`, value: samples[Math.floor(INIT_RUNS / 2)] ?? 0, unit: 'ms', n: INIT_RUNS }),
      );
    }
  } finally {
    stack.remove();
  }
  return figures;
}

async function initMillis(bundle: string): Promise<number> {
  const script = `const t=performance.now(); await import(${JSON.stringify(bundle)}); console.log(performance.now()-t);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      TABLE_NAME: 'fleetline-bench',
      ARTIFACT_BUCKET: 'fleetline-bench-artifacts',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ADMIN_PRINCIPALS: 'arn:aws:iam::111122223333:role/platform-admin',
      AGENT_ACCOUNTS: '111122223333',
    },
  });
  return Math.round(Number(stdout.trim().split('\n').pop()) * 10) / 10;
}
