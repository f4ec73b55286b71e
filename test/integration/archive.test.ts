import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleIntegrityError, extractBundle } from '../../agent/archive.js';
import { tgzBundle, zipBundle } from '../support/bundles.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-archive-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: Buffer) => {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
};

describe('extracting bundles', () => {
  it('extracts a zip keeping executable bits and in-bundle symlinks', async () => {
    const zip = await zipBundle([
      { path: 'appspec.yml', content: 'version: 0.0\n' },
      { path: 'scripts/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
      { path: 'scripts/alias.sh', content: '', symlinkTo: 'run.sh' },
    ]);
    await extractBundle(file('b.zip', zip), 'zip', join(dir, 'out'));
    expect(readFileSync(join(dir, 'out/appspec.yml'), 'utf8')).toBe('version: 0.0\n');
    expect(readlinkSync(join(dir, 'out/scripts/alias.sh'))).toBe('run.sh');
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'out/scripts/run.sh')).mode & 0o111).not.toBe(0);
  });

  it('extracts a tgz', async () => {
    const tgz = await tgzBundle([{ path: 'appspec.yml', content: 'version: 0.0\n' }, { path: 'site/index.html', content: 'hi' }]);
    await extractBundle(file('b.tgz', tgz), 'tgz', join(dir, 'out'));
    expect(readFileSync(join(dir, 'out/site/index.html'), 'utf8')).toBe('hi');
  });

  it('rejects a zip whose symlink points outside, writing nothing', async () => {
    const zip = await zipBundle([
      { path: 'appspec.yml', content: 'x' },
      { path: 'evil', content: '', symlinkTo: '../../../../etc' },
    ]);
    await expect(extractBundle(file('b.zip', zip), 'zip', join(dir, 'out'))).rejects.toThrow(/points outside the bundle/);
    expect(existsSync(join(dir, 'out/appspec.yml'))).toBe(false);
  });

  it('rejects a tar with a symlink escaping and a file written through it', async () => {
    const src = join(dir, 'src');
    mkdirSync(src);
    symlinkSync('/tmp', join(src, 'escape'));
    writeFileSync(join(src, 'appspec.yml'), 'x');
    await tar.c({ file: join(dir, 'b.tar'), cwd: src }, ['appspec.yml', 'escape']);
    await expect(extractBundle(join(dir, 'b.tar'), 'tar', join(dir, 'out'))).rejects.toThrow(BundleIntegrityError);
    expect(existsSync(join(dir, 'out/appspec.yml'))).toBe(false);
  });

  it('rejects a truncated archive and one that is not an archive', async () => {
    const tgz = await tgzBundle([{ path: 'appspec.yml', content: 'x'.repeat(5000) }]);
    await expect(extractBundle(file('t.tgz', tgz.subarray(0, tgz.length / 2)), 'tgz', join(dir, 'o1'))).rejects.toThrow(BundleIntegrityError);
    await expect(extractBundle(file('n.zip', Buffer.from('not a zip')), 'zip', join(dir, 'o2'))).rejects.toThrow(BundleIntegrityError);
  });

  it('rejects an archive that expands past the size limit', async () => {
    const zip = await zipBundle([{ path: 'big.bin', content: 'x'.repeat(10_000) }]);
    await expect(extractBundle(file('b.zip', zip), 'zip', join(dir, 'out'), { maxBytes: 1000, maxRatio: 1e6, maxEntries: 10 })).rejects.toThrow(/expands past 1000 bytes/);
  });
});
