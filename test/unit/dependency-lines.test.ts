import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * One AWS SDK version line: the SDK clients Fleetline ships are declared at one
 * version, and npm resolves every @aws-sdk/* and @smithy/* package once (a
 * second copy of the SDK's core means two versions of the code that signs and
 * retries). And no peer conflict is papered over (.npmrc has no legacy-peer-deps).
 */
const root = new URL('../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, { version?: string }> };

describe('dependencies', () => {
  it('installs each @aws-sdk/* and @smithy/* package once', () => {
    const copies = new Map<string, string[]>();
    for (const [path, entry] of Object.entries(lock.packages)) {
      const name = /node_modules\/(@(?:aws-sdk|smithy)\/[^/]+)$/.exec(path)?.[1];
      if (name) copies.set(name, [...(copies.get(name) ?? []), `${path}@${entry.version}`]);
    }
    expect(copies.size).toBeGreaterThan(20);
    expect([...copies.values()].filter((paths) => paths.length > 1)).toEqual([]);
  });

  it('resolves peer dependencies rather than ignoring them', () => {
    expect(readFileSync(new URL('.npmrc', root), 'utf8')).not.toMatch(/legacy-peer-deps/);
  });
});
