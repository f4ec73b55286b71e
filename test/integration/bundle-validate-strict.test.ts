import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestCli } from '../support/cli-process.js';

const work = mkdtempSync(join(tmpdir(), 'fleetline-bundle-strict-'));
let cli: Awaited<ReturnType<typeof buildTestCli>> | undefined;
beforeAll(async () => {
  cli = await buildTestCli();
}, 120_000);
afterAll(() => {
  cli?.remove();
  rmSync(work, { recursive: true, force: true });
});

function bundle(name: string, appspec: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  writeFileSync(join(dir, 'appspec.yml'), appspec);
  writeFileSync(join(dir, 'scripts', 'start.sh'), '#!/bin/sh\ntrue\n');
  return dir;
}

describe('fleetline bundle validate: warnings, and --strict', () => {
  const warned = 'version: 0.0\nos: linux\nHooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n';

  it('accepts a bundle with warnings, printing each with its line, what CodeDeploy does and the fix', async () => {
    const result = await cli!.run(['bundle', 'validate', bundle('warned', warned)]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: appspec\.yml \$\.Hooks: Hooks is not read by CodeDeploy .*rename it to hooks .*\(line 3, column 1\)$/m);
    expect(result.stdout).toMatch(/valid, 1 warning\(s\)/);
  });

  it('with --strict, refuses the same bundle (exit 1), the warning now a problem', async () => {
    const result = await cli!.run(['bundle', 'validate', '--strict', bundle('warned-strict', warned)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^appspec\.yml \$\.Hooks: Hooks is not read/m);
    expect(result.stderr).not.toMatch(/^warning:/m);
    const json = await cli!.run(['-o', 'json', 'bundle', 'validate', '--strict', join(work, 'warned-strict')]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: [{ path: 'appspec.yml $.Hooks' }], warnings: [] });
  });

  it('with --strict, still accepts a bundle without warnings', async () => {
    const result = await cli!.run(['bundle', 'validate', '--strict', bundle('clean', warned.replace('Hooks', 'hooks'))]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
