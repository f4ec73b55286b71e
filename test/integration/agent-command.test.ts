import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stopChild } from '../../local/dynamodb-local.js';
import { waitFor } from '../../local/ports.js';
import { repoRoot } from '../support/packaged-template.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-cmd-'));
let server: Server | undefined;
afterAll(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

const agentArgs = ['--import', 'tsx', join(repoRoot, 'agent/main.ts')];

describe('fleetline-agent as a command', () => {
  it('--help prints the usage and exits 0; a bad option exits 2 with the usage', async () => {
    for (const args of [['run', '--help']]) {
      const { stdout } = await promisify(execFile)(process.execPath, [...agentArgs, ...args], { cwd: repoRoot });
      expect(stdout).toContain('Usage: fleetline-agent run --api URL');
    }
    const bad = await promisify(execFile)(process.execPath, [...agentArgs, 'run', '--bogus'], { cwd: repoRoot }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
  }, 90_000);

  it('polls many times without piling up listeners or printing any warning', async () => {
    let polls = 0;
    server = createServer((req, res) => {
      req.resume();
      polls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ assignment: null, pollAfterSeconds: 0.005 }));
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const child = spawn(
      process.execPath,
      [...agentArgs, 'run', '--api', `http://127.0.0.1:${port}`, '--instance-id', 'quiet-1', '--state-dir', join(dir, 'state'), '--principal', 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/quiet-1'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitFor('50 polls', () => polls >= 50, { timeoutMs: 60_000 });
    } finally {
      await stopChild(child, 3000);
    }
    expect(output).not.toMatch(/MaxListenersExceeded|NodeVersionSupportWarning|Warning/);
  }, 90_000);
});
