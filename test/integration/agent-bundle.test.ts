import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../agent/build.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the agent bundle (npm run build:agent)', () => {
  it('is one file that runs on plain Node and explains its usage', async () => {
    const outfile = join(dir, 'fleetline-agent.mjs');
    await buildAgent(outfile);
    const run = promisify(execFile);
    const usage = await run(process.execPath, [outfile, 'run'], { cwd: dir }).catch((e) => e);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--api must be an http(s) URL');
    const unreachable = await run(process.execPath, [
      outfile, 'run', '--api', 'http://127.0.0.1:9', '--instance-id', 'x',
      '--principal', 'arn:aws:iam::000000000000:user/x', '--state-dir', join(dir, 'state'), '--once',
    ]).catch((e) => e);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/fleetline-agent: .*fetch failed/);
  });
});
