import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../../cli/build.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds the `fleetline` bin once into a temp dir, as `npm run build:cli` would, and runs it as a process. */
export async function buildTestCli() {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-cli-'));
  const file = await buildCli(join(dir, 'fleetline.mjs'));
  const run = (args: string[], env: Record<string, string> = {}, cwd = dir): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(process.execPath, [file, ...args], { cwd, env: { ...process.env, ...env }, timeout: 180_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });
  return { file, dir, run, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
