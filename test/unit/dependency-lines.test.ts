import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * One AWS SDK version line: the SDK clients Fleetline ships are declared at one
 * version (a client published less often at its newest), and npm resolves every @aws-sdk/* and @smithy/* package once (a
 * second copy of the SDK's core means two versions of the code that signs and
 * retries). And no peer conflict is papered over (.npmrc has no legacy-peer-deps).
 */
const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, { version?: string }> };

/** Clients published less often than the rest: pinned at their newest release, on the same core. */
const PUBLISHED_BEHIND: Record<string, string> = { '@aws-sdk/client-codebuild': '3.1149.0' };

describe('dependencies', () => {
  it('declares the SDK clients Fleetline ships (clients, lib-dynamodb, the presigner) at one version', () => {
    const line = pkg.dependencies['@aws-sdk/client-s3'];
    const clients = Object.entries(pkg.dependencies).filter(([name]) => /^@aws-sdk\/(client-|lib-|s3-request-presigner)/.test(name));
    expect(clients.length).toBeGreaterThan(5);
    expect(clients.filter(([name, version]) => version !== (PUBLISHED_BEHIND[name] ?? line))).toEqual([]);
  });

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
