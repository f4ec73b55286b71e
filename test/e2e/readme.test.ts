import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../cli/build.js';
import { repoRoot } from '../support/packaged-template.js';
import { type LocalFleetline, pickPorts, startLocalFleetline } from '../support/local-process.js';
import { consoleBlocks, matchOutput } from '../support/readme-console.js';
import { type ShellSession, startShell } from '../support/shell-session.js';

/**
 * The README as a script: every ```console block, in order, each command run
 * literally in one bash session (so `cd` and variables carry over) from the
 * repository's root, as a reader would after cloning, against a fresh local
 * stack, and each output checked as the README shows it (conventions in
 * test/support/readme-console.ts).
 *
 * Blocks marked `readme-test: skip` are not run: `npm install && npm start` (this
 * test starts the same stack itself, on free ports and with its own state dir),
 * `npm test` (this test is part of it) and the AWS deployment.
 *
 * Substituted, and only these, in commands and expected output alike, so that
 * runs never collide or touch a developer's own stack: `/tmp/` becomes a
 * scratch folder of this test, `.fleetline/` the test stack's state dir, and
 * the default ports 3000 / 4569 / 8000 the test stack's. The shell gets that
 * state dir as FLEETLINE_STATE_DIR (which is how `npx fleetline` and
 * `npm run upload` find this stack, as they find `.fleetline/` by default), and
 * a scratch HOME and TMPDIR, all removed afterwards. README_TRACE=1 prints every
 * command with its output as it runs.
 */

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'fleetline-readme-'));
const stateDir = join(scratch, 'state');
const slashTmp = join(scratch, 'tmp');
let stack: LocalFleetline | undefined;
let shell: ShellSession | undefined;
let repoStatusBefore = '';

/** The repository's changed files, but the console's screenshots, which its browser test (test/e2e/console.test.ts) writes, perhaps while this one runs. */
const gitStatus = () =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((line) => !line.slice(3).startsWith('docs/console/'))
    .join('\n');

beforeAll(async () => {
  for (const dir of [slashTmp, join(scratch, 'home'), join(scratch, 'tmpdir')]) mkdirSync(dir, { recursive: true });
  repoStatusBefore = gitStatus();
  // `npm install` builds dist/fleetline.mjs (the `prepare` script): so does this test, from the current source.
  [stack] = await Promise.all([startLocalFleetline(stateDir, await pickPorts(), { FLEETLINE_LOCAL_AGENTS: '3' }), buildCli()]);
}, 240_000);

afterAll(async () => {
  await shell?.close();
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function localise(text: string): string {
  const { api, s3, dynamoDb } = stack!.ports;
  return text
    .replace(/(^|[\s'"=(:])\/tmp\//gm, `$1${slashTmp}/`)
    .replace(/(^|[\s'"=(])\.fleetline\//gm, `$1${stateDir}/`)
    .replace(/127\.0\.0\.1:3000\b/g, `127.0.0.1:${api}`)
    .replace(/127\.0\.0\.1:4569\b/g, `127.0.0.1:${s3}`)
    .replace(/127\.0\.0\.1:8000\b/g, `127.0.0.1:${dynamoDb}`);
}

describe('the README', () => {
  it('runs as written: every console block, in order, against a fresh local stack, with the output it shows', async () => {
    // A reader's shell: none of the settings npm and vitest hand to the processes they run, no FLEETLINE_API.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|vitest|node_env$|fleetline_)/i.test(k)));
    shell = startShell({
      cwd: repoRoot,
      scratch,
      env: {
        ...inherited,
        FLEETLINE_STATE_DIR: stateDir,
        HOME: join(scratch, 'home'),
        TMPDIR: join(scratch, 'tmpdir'),
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      },
    });
    let ran = 0;
    for (const block of consoleBlocks(readme)) {
      if (block.skip) continue;
      for (const { command, expected, line } of block.commands) {
        const where = `README.md:${line} (${block.section})`;
        const result = await shell.run(localise(command), { timeoutMs: 420_000 });
        const shown = `$ ${command}\n${result.output}`;
        if (process.env.README_TRACE) console.log(`[${where}] status ${result.status}\n${shown}`);
        expect(result.status, `${where} exited with ${result.status}:\n${shown}`).toBe(0);
        if (expected.length > 0) {
          const match = matchOutput(expected.map(localise), result.output);
          expect(match, `${where}: the output is not what the README shows:\n${shown}`).toEqual({ ok: true });
        }
        ran++;
      }
    }
    expect(ran).toBeGreaterThan(20);
    // Following the README writes nothing into the repository.
    expect(gitStatus()).toBe(repoStatusBefore);
  }, 1_200_000);
});
