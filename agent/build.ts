import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundles the agent into one ESM file that runs on plain Node 20+ (`npm run build:agent`). */
export async function buildAgent(outfile = `${root}dist/fleetline-agent.mjs`): Promise<string> {
  await build({
    entryPoints: [`${root}agent/main.ts`],
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildAgent()}`);
}
