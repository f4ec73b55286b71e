import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CONSOLE_OPERATIONS } from '../lib/api/console-operations.js';
import { operations } from '../lib/api/operations.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `npm run build:console` (run on install): the console's static files, dist/console/. */
export async function buildConsole(outdir = join(root, 'dist', 'console')): Promise<string> {
  // The browser needs only each operation's method and path, not its schemas.
  const routes = Object.fromEntries(CONSOLE_OPERATIONS.map((id) => [id, [operations[id].method, operations[id].path]]));
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(root, 'console', 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    format: 'esm',
    minify: true,
    outfile: join(outdir, 'app.js'),
    define: { FLEETLINE_ROUTES: JSON.stringify(routes) },
    logLevel: 'warning',
  });
  await copyFile(join(root, 'console', 'index.html'), join(outdir, 'index.html'));
  await copyFile(join(root, 'console', 'style.css'), join(outdir, 'style.css'));
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildConsole()}`);
}
