import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FUNCTION_ENV, probeInit } from '../test/support/function-init.js';
import { type PackagedStack, packageStack, repoRoot } from '../test/support/packaged-template.js';
import { type Figure, printFigure } from './figure.js';

const FUNCTIONS = ['api', 'artifacts', 'channel', 'reconcile', 'worker'];
const INIT_RUNS = 5;

/**
 * Bundle size of each packaged function, and module init time: a fresh Node
 * process importing the bundled handler with the configuration Lambda gives it.
 * Times depend on the machine's load; what the cold start loads (bytes of the
 * bundle's JavaScript compiled, its files, Node's own modules) does not.
 */
export async function benchFunctionBundles(): Promise<Figure[]> {
  const stack: PackagedStack = await packageStack('bench');
  const figures: Figure[] = [];
  try {
    for (const fn of FUNCTIONS) {
      figures.push(printFigure({ bench: 'bundle', metric: `${fn}_zip_bytes`, value: statSync(join(stack.dir, `${fn}.zip`)).size, unit: 'B' }));
      const dir = join(stack.dir, `unzipped-${fn}`);
      await promisify(execFile)('unzip', ['-q', '-o', join(stack.dir, `${fn}.zip`), '-d', dir]);
      const bundle = join(dir, 'functions', `${fn}.mjs`);
      const load = await probeInit(bundle);
      figures.push(
        printFigure({ bench: 'bundle', metric: `${fn}_init_js_bytes`, value: load.modules.reduce((sum, m) => sum + m.bytes, 0), unit: 'B' }),
        printFigure({ bench: 'bundle', metric: `${fn}_init_js_files`, value: load.modules.length, unit: 'files' }),
        printFigure({ bench: 'bundle', metric: `${fn}_init_node_modules`, value: load.builtins.length, unit: 'modules' }),
      );
      const samples: number[] = [];
      for (let i = 0; i < INIT_RUNS; i++) samples.push(await initMillis(bundle));
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
    env: { PATH: process.env.PATH, ...FUNCTION_ENV },
  });
  return Math.round(Number(stdout.trim().split('\n').pop()) * 10) / 10;
}
