import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface PackagedStack {
  dir: string;
  template: {
    Resources: Record<string, { Type: string; Properties: any; DependsOn?: unknown; Condition?: string }>;
    Outputs: Record<string, { Value: unknown; Condition?: string }>;
    Conditions: Record<string, unknown>;
  };
  remove(): void;
}

/** The deploy parameters a stack needs (the package refuses to go without them). */
export const REQUIRED_PARAMS = { adminPrincipals: 'arn:aws:iam::111122223333:role/platform-admin', agentAccounts: '111122223333' };

/** `osls package` as a child process, offline; its output, or a rejection carrying it. */
export function runPackage(args: { stage: string; dir: string; params: Record<string, string>; tmp?: string }) {
  return promisify(execFile)(
    process.execPath,
    [
      join(repoRoot, 'node_modules/osls/bin/serverless.js'),
      'package',
      '--stage',
      args.stage,
      '--package',
      args.dir,
      ...Object.entries(args.params).map(([name, value]) => `--param=${name}=${value}`),
    ],
    { cwd: repoRoot, env: { ...process.env, ...(args.tmp ? { TMPDIR: args.tmp } : {}), SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' }, timeout: 120_000 },
  );
}

/** Runs `osls package` offline into a temp dir and reads the CloudFormation template it wrote. */
export async function packageStack(stage = 'test', params: Record<string, string> = REQUIRED_PARAMS): Promise<PackagedStack> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-package-'));
  // serverless-esbuild zips each function through a folder in the temp dir that it fails to
  // remove (a non-recursive delete); giving it a temp dir of its own lets us remove them all.
  const scratch = mkdtempSync(join(tmpdir(), 'fleetline-package-tmp-'));
  try {
    await runPackage({ stage, dir, params, tmp: scratch });
    const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
    return { dir, template, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
