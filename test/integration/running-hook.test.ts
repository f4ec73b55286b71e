import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { isAlive } from '../../local/process-alive.js';
import { runScripts } from '../../agent/hooks.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { RunningHook } from '../../agent/running-hook.js';
import { AgentState } from '../../agent/state.js';

let dir: string;
let state: AgentState;
let log: OutputLog;
const spawned: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-hook-record-'));
  mkdirSync(join(dir, 'bundle'));
  state = new AgentState(join(dir, 'state'));
  mkdirSync(state.dir);
  log = new OutputLog(join(dir, 'log.txt'));
});
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const script = (name: string, body: string) => writeFileSync(join(dir, 'bundle', name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
describe('the running-hook record', () => {
  it('leaves the state folder traversable (0711), so hooks run as other users still reach their bundles; the record is 0600', async () => {
    const hook = new RunningHook(state);
    script('probe.sh', `stat -c %a ${state.dir} > ${join(dir, 'mode.txt')}; stat -c %a ${join(state.dir, 'running-hook.json')} >> ${join(dir, 'mode.txt')}`);
    const result = await runScripts([{ location: 'probe.sh', timeout: 10 }], {
      bundleDir: join(dir, 'bundle'), env: {}, log, signal: new AbortController().signal, track: hook,
    });
    expect(result.ok).toBe(true);
    expect(readFileSync(join(dir, 'mode.txt'), 'utf8')).toBe('711\n600\n');
  });

  it('is on disk before the hook runs its first instruction, and gone once it has ended', async () => {
    const record = join(state.dir, 'running-hook.json');
    script('first.sh', `cat ${record} > ${join(dir, 'seen.json')}`);
    const hook = new RunningHook(state);
    const result = await runScripts([{ location: 'first.sh', timeout: 10 }, { location: 'first.sh', timeout: 10 }], {
      bundleDir: join(dir, 'bundle'), env: {}, log, signal: new AbortController().signal, track: hook,
    });
    expect(result.ok).toBe(true);
    const seen = JSON.parse(readFileSync(join(dir, 'seen.json'), 'utf8'));
    expect(seen).toMatchObject({ pgid: expect.any(Number), marker: hook.marker, startTime: expect.stringMatching(/^\d+$/) });
    expect(existsSync(record)).toBe(false);
  });

  it('lets a restarted agent end a hook it started, children and all', async () => {
    const hook = new RunningHook(state);
    script('long.sh', `sleep 60 & echo $! > ${join(dir, 'child.pid')}\nsleep 60`);
    const abort = new AbortController();
    const running = runScripts([{ location: 'long.sh', timeout: 60 }], { bundleDir: join(dir, 'bundle'), env: {}, log, signal: abort.signal, track: hook });
    await waitFor('the hook and its child to run', async () => existsSync(join(dir, 'child.pid')) && readFileSync(join(dir, 'child.pid'), 'utf8').trim() !== '', { timeoutMs: 10_000 });
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    // As after a crash: the record is there, and this process no longer tracks the hook.
    expect(await RunningHook.endLeftover(state)).toBe('killed');
    await waitFor('the whole group to be gone', async () => !isAlive(child), { timeoutMs: 10_000 });
    abort.abort();
    expect((await running).ok).toBe(false);
  });

  it('leaves alone a process group that took the recorded ID but is not the hook', async () => {
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    spawned.push(bystander);
    const pid = bystander.pid as number;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const record = join(state.dir, 'running-hook.json');
    for (const stale of [
      { pgid: pid, startTime: '1', marker: 'other' }, // another start time
      { pgid: pid, startTime, marker: 'not-in-its-environment' }, // same start time, no marker
    ]) {
      writeFileSync(record, JSON.stringify(stale));
      expect(await RunningHook.endLeftover(state)).toBe('not ours');
      expect(existsSync(record)).toBe(false);
      expect(isAlive(pid)).toBe(true);
    }
  });
});
