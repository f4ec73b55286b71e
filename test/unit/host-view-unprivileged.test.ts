import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inHostView } from '../../agent/host-view.js';

// CI runs as root, where the agent makes a mount namespace alone; an agent run by an ordinary
// user needs a user namespace too. Run as root, this test becomes `nobody` to try that path.
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'fleetline-userns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(asRoot)('the host view for an agent that is not root', () => {
  it('shows the host folder at a destination that does not exist, and the script runs as that user', () => {
    const destination = `/var/www/fleetline-userns-${process.pid}`;
    const root = join(dir, 'host');
    mkdirSync(join(root, destination), { recursive: true });
    writeFileSync(join(root, destination, 'index.html'), 'installed');
    for (const path of [dir, root, join(root, 'var'), join(root, 'var/www'), join(root, destination)]) chownSync(path, NOBODY, NOBODY);
    const { file, args } = inHostView({ root, mode: 'user' }, [destination], ['/bin/sh', '-c', `cd ${destination} && cat index.html && id -u > uid.txt`]);
    // inHostView maps the calling user back; the caller here is about to become nobody.
    const asNobody = args.map((a) => a.replace(/^--map-user=\d+$/, `--map-user=${NOBODY}`).replace(/^--map-group=\d+$/, `--map-group=${NOBODY}`));
    const run = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', file, ...asNobody], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('installed');
    expect(readFileSync(join(root, destination, 'uid.txt'), 'utf8').trim()).toBe(String(NOBODY));
    expect(existsSync(destination)).toBe(false);
  });
});
