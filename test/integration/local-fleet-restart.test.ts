import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from '../../local/local-fleet.js';
import { isAlive } from '../../local/process-alive.js';
import { freePort, waitFor } from '../../local/ports.js';

const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-fleet-restart-'));
let fleet: LocalFleet | undefined;
afterAll(async () => {
  await fleet?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start\'s local fleet', () => {
  it('starts an agent that dies again, says so, and starts none once stopped', async () => {
    const lines: string[] = [];
    // No API listens there: the agent keeps retrying, which is all this needs.
    fleet = startLocalFleet({ instanceIds: ['local-r1'], apiUrl: `http://127.0.0.1:${await freePort()}`, stateDir, log: (l) => lines.push(l) });
    const [first] = fleet.pids;
    expect(first).toBeGreaterThan(0);
    await waitFor('the agent to run', () => isAlive(first!));
    process.kill(first!, 'SIGKILL');
    await waitFor('the agent to be started again', () => fleet!.pids[0] !== first && isAlive(fleet!.pids[0]!), { timeoutMs: 30_000 });
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^Local agent local-r1 \\(pid ${first}\\) exited \\(SIGKILL\\); starting it again in 1 s`))]);

    const second = fleet.pids[0]!;
    await fleet.stop();
    expect(isAlive(second)).toBe(false);
    expect(lines).toHaveLength(1);
  }, 60_000);
});
