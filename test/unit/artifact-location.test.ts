import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT_PACKAGE_PREFIX, BUILD_PREFIX, LOG_PREFIX, RESERVED_PREFIXES, keySegmentProblem, logObjectKey, revisionLocationProblem, sourcePrefixProblem, sourceWithin } from '../../lib/domain/artifact-location.js';
import { requestFingerprint } from '../../lib/domain/idempotency.js';

const keyChars = fc.string({ unit: fc.constantFrom(...'abcdefilgnst-/._ x'.split('')), maxLength: 24 });

describe('reserved prefixes', () => {
  it('no accepted source prefix can match an object under a reserved prefix (agent logs, the published agent)', () => {
    expect(RESERVED_PREFIXES).toEqual([LOG_PREFIX, BUILD_PREFIX, AGENT_PACKAGE_PREFIX]);
    for (const reserved of RESERVED_PREFIXES) {
      fc.assert(
        fc.property(fc.oneof(keyChars, keyChars.map((s) => `${reserved.slice(0, s.length % reserved.length)}${s}`)), keyChars, (prefix, rest) => {
          if (sourcePrefixProblem(prefix) === undefined) expect(`${reserved}${rest}`.startsWith(prefix)).toBe(false);
        }),
        { numRuns: 500 },
      );
    }
    expect(sourcePrefixProblem('fleetline-agent/')).toMatch(/overlaps the reserved prefix fleetline-agent\//);
  });

  it('an object under a reserved prefix is never deployable, whatever sources an application declares', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ bucket: fc.constant('b-1'), prefix: keyChars }), { maxLength: 3 }), keyChars, (sources, rest) => {
        expect(revisionLocationProblem({ bucket: 'b-1', key: `${LOG_PREFIX}${rest}` }, sources)).toMatch(/reserved for Fleetline/);
      }),
      { numRuns: 200 },
    );
    expect(revisionLocationProblem({ bucket: 'b-1', key: logObjectKey('d-AAAAAAAAA', 'i-1') }, [{ bucket: 'b-1', prefix: 'fleetline-logs/' }])).toBeDefined();
  });

  it('a revision is allowed only in a declared bucket under a declared prefix', () => {
    const sources = [{ bucket: 'b-1', prefix: 'web/' }];
    expect(revisionLocationProblem({ bucket: 'b-1', key: 'web/a.zip' }, sources)).toBeUndefined();
    expect(revisionLocationProblem({ bucket: 'b-2', key: 'web/a.zip' }, sources)).toContain('allowed: s3://b-1/web/*');
    expect(revisionLocationProblem({ bucket: 'b-1', key: 'webx/a.zip' }, sources)).toBeDefined();
    expect(sourceWithin({ bucket: 'b-1', prefix: 'web/release/' }, sources)).toBe(true);
    expect(sourceWithin({ bucket: 'b-1', prefix: 'we' }, sources)).toBe(false);
  });
});

describe('idempotency fingerprints', () => {
  const base = { application: 'web', group: 'prod', revision: { bucket: 'b-1', key: 'web/a.zip', bundleType: 'zip' }, description: 'x' };

  it('ignore key order and absent fields, and change with any parameter', () => {
    expect(requestFingerprint({ description: 'x', revision: { bundleType: 'zip', key: 'web/a.zip', bucket: 'b-1' }, group: 'prod', application: 'web', deploymentConfig: undefined })).toBe(requestFingerprint(base));
    fc.assert(
      fc.property(fc.constantFrom('application', 'group', 'description'), fc.string({ minLength: 1, maxLength: 8 }), (field, suffix) => {
        expect(requestFingerprint({ ...base, [field]: `${(base as Record<string, unknown>)[field]}${suffix}` })).not.toBe(requestFingerprint(base));
      }),
      { numRuns: 100 },
    );
    expect(requestFingerprint({ ...base, revision: { ...base.revision, version: 'v2' } })).not.toBe(requestFingerprint(base));
  });
});

describe('key segments', () => {
  const plainSegment = fc.string({ unit: fc.constantFrom(...'ab.-_ %2e'.split('')), minLength: 1, maxLength: 6 }).filter((s) => s !== '.' && s !== '..');
  const anySegment = fc.oneof(plainSegment, fc.constantFrom('', '.', '..'));

  it('a key is refused exactly when one of its segments is empty, "." or "..", naming the first such segment and where it is', () => {
    fc.assert(
      fc.property(fc.array(anySegment, { minLength: 1, maxLength: 6 }), (segments) => {
        const key = segments.join('/');
        const first = segments.findIndex((s) => s === '' || s === '.' || s === '..');
        const problem = keySegmentProblem(key);
        if (first < 0) {
          expect(problem).toBeUndefined();
        } else {
          const named = segments[first] === '' ? 'an empty segment' : `a "${segments[first]}" segment`;
          expect(problem).toContain(`has ${named} (segment ${first + 1} of "${key}")`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses the hostile keys that pass a prefix check as written', () => {
    for (const key of ['web/../shop/secret.zip', 'web//x.zip', './x.zip', 'web/./x.zip', '/web/x.zip', 'web/x.zip/', 'web/..', '..']) {
      expect(keySegmentProblem(key), key).toBeDefined();
    }
    for (const key of ['web/x.zip', 'web/.x.zip', 'web/..x/y.zip', 'web/x..zip', 'web/.../x.zip', 'web/%2e%2e/x.zip']) {
      expect(keySegmentProblem(key), key).toBeUndefined();
    }
  });
});
