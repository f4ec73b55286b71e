import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundles one entry point into one ESM file that runs on plain Node 20+ (the agent, the CLI). */
export async function buildOneFile(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as fleetlineCreateRequire } from 'node:module'; const require = fleetlineCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

/** `npm run build:agent`: dist/fleetline-agent.mjs. */
export function buildAgent(outfile = `${root}dist/fleetline-agent.mjs`): Promise<string> {
  return buildOneFile(`${root}agent/main.ts`, outfile);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildAgent()}`);
}
