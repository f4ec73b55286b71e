import { fileURLToPath } from 'node:url';
import { buildOneFile } from '../agent/build.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `npm run build:cli`: the `fleetline` command as one file, dist/fleetline.mjs. */
export function buildCli(outfile = `${root}dist/fleetline.mjs`): Promise<string> {
  return buildOneFile(`${root}cli/entry.ts`, outfile);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildCli()}`);
}
