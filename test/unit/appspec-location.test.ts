import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locateAppspec } from '../../lib/domain/appspec-location.js';

describe('finding appspec.yml in a bundle (one rule for preflight and the agent)', () => {
  it('takes the root one, even when a folder holding another comes first in the archive', () => {
    expect(locateAppspec(['old/appspec.yml', 'old/run.sh', 'appspec.yml', 'run.sh'])).toEqual({ root: '', appspecPath: 'appspec.yml', ignored: 0 });
    expect(locateAppspec(['./appspec.yml'])).toMatchObject({ root: '' });
  });

  it('takes the single top folder holding one, ignoring what lies outside it (as CodeDeploy does)', () => {
    expect(locateAppspec(['app/appspec.yml', 'app/scripts/start.sh', 'README.md'])).toEqual({ root: 'app/', appspecPath: 'app/appspec.yml', ignored: 1 });
    expect(locateAppspec(['./app/appspec.yml', 'other/x'])).toMatchObject({ root: 'app/', ignored: 1 });
  });

  it('refuses none, one too deep, or several folders each holding one', () => {
    expect(locateAppspec([])).toEqual({ problem: expect.stringMatching(/empty/) });
    expect(locateAppspec(['a/b/appspec.yml', 'x'])).toEqual({ problem: expect.stringMatching(/no appspec.yml at its root/) });
    expect(locateAppspec(['a/appspec.yml', 'b/appspec.yml'])).toEqual({ problem: expect.stringMatching(/several top-level folders hold one \(a\/, b\/\)/) });
    expect(locateAppspec(['.hidden/appspec.yml'])).toHaveProperty('problem');
    expect(locateAppspec(['appspec.yml.bak', 'Appspec.yml'])).toHaveProperty('problem');
  });

  it('does not depend on the order of entries', () => {
    const name = fc.constantFrom('appspec.yml', 'a/appspec.yml', 'b/appspec.yml', 'a/x', 'README.md', 'a/b/appspec.yml', './appspec.yml');
    fc.assert(
      fc.property(fc.array(name, { maxLength: 8 }), (files) => {
        expect(locateAppspec([...files].reverse())).toEqual(locateAppspec(files));
      }),
      { numRuns: 200 },
    );
  });
});
