import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallError, copyFiles, rootedMap } from '../../agent/install.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { parseAppspec } from '../../lib/domain/appspec.js';

let dir: string;
let log: OutputLog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-host-root-'));
  mkdirSync(join(dir, 'bundle/site'), { recursive: true });
  writeFileSync(join(dir, 'bundle/site/index.html'), 'hi');
  mkdirSync(join(dir, 'host'));
  log = new OutputLog(join(dir, 'log.txt'));
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const spec = (destination: string) => parseAppspec(`version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: ${JSON.stringify(destination)}\n`);

describe('local host roots', () => {
  it.each(['/../../x', '/srv/../../../x', '/./../x/./y/..'])('%s lands inside the host folder', async (destination) => {
    const { files, directories } = await copyFiles(spec(destination), join(dir, 'bundle'), 'OVERWRITE', rootedMap(join(dir, 'host')), log);
    expect(files).toHaveLength(1);
    for (const path of [...files, ...directories]) expect(path.startsWith(`${join(dir, 'host')}/`)).toBe(true);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('any destination maps inside the host folder', () => {
    const map = rootedMap('/hosts/h1');
    fc.assert(
      fc.property(fc.array(fc.constantFrom('..', '.', 'a', '', 'b/..', '../..'), { maxLength: 8 }), (parts) => {
        const mapped = map(`/${parts.join('/')}`);
        expect(mapped === '/hosts/h1' || mapped.startsWith('/hosts/h1/')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to install through a symlink in the host folder that points out of it', async () => {
    mkdirSync(join(dir, 'outside'));
    symlinkSync(join(dir, 'outside'), join(dir, 'host/srv'));
    const attempt = copyFiles(spec('/srv/site'), join(dir, 'bundle'), 'OVERWRITE', rootedMap(join(dir, 'host')), log);
    await expect(attempt).rejects.toThrow(InstallError);
    await expect(attempt).rejects.toThrow(/resolves outside the host folder/);
    expect(existsSync(join(dir, 'outside/site/index.html'))).toBe(false);
    expect(readFileSync(join(dir, 'bundle/site/index.html'), 'utf8')).toBe('hi');
  });
});
